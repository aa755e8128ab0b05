// Command settings is the settings Lambda: the admin's settings, the integration's
// elements and webhook secret, behind API Gateway (HTTP API, payload v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(settings.New(settings.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Verifier: d.Verifier, Logger: d.Logger,
		PublicBaseURL: d.Config.PublicBaseURL, Entry: d.Entry()})).ProxyWithContext)
}
