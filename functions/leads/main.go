// Command leads is the leads Lambda: an agent creates a Sell lead from a chat,
// behind API Gateway (HTTP API v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(leads.New(leads.Deps{Store: d.Store, Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger},
		transcripts.LeadAttacher(transcripts.Deps{Store: d.Store, Vault: d.Vault, Logger: d.Logger}))).ProxyWithContext)
}
