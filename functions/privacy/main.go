// Command privacy is the privacy function: what sellchat holds about a chat visitor,
// and the start and progress of its erasure (which the transcripts function runs),
// behind API Gateway (HTTP API, payload v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/handler/privacy"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(privacy.New(privacy.Deps{Store: d.Store, Box: d.Box, Verifier: d.Verifier, Logger: d.Logger, ReadPhone: phone.E164})).ProxyWithContext)
}
