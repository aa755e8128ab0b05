// Command panel is the panel Lambda: the Sell app in Chat's lookup of the visitor,
// the owners an agent may pick, and the panel page, behind API Gateway (HTTP API v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(panel.New(panel.Deps{Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger, Entry: d.Entry(), Zendesk: d.Vault.ZendeskClient})).ProxyWithContext)
}
