// Command chatwebhook is the chat webhook Lambda: it verifies Zendesk's signature and
// durably stores each finished chat, behind API Gateway (HTTP API, payload v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(chatwebhook.New(chatwebhook.Deps{Store: d.Store, Box: d.Box, Vault: d.Vault, Accounts: d.Config.Accounts, Logger: d.Logger})).ProxyWithContext)
}
