// Command oauth is the oauth Lambda: connecting Sell (install), agents' Sell sign-in,
// the install checks and uninstall, behind API Gateway (HTTP API, payload v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/handler/oauth"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(oauth.New(oauth.Deps{Store: d.Store, Vault: d.Vault, Verifier: d.Verifier, Logger: d.Logger, SellAPIURL: d.Config.SellAPIURL,
		Sessions: d.Sessions, PublicBaseURL: d.Config.PublicBaseURL, Box: d.Box})).ProxyWithContext)
}
