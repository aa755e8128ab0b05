// Command feed is the Lambda of the Chat app in Sell: a record's chat history, the
// iframes' configuration and the static feed page, behind API Gateway (HTTP API, v2).
package main

import (
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	lambda.Start(httpadapter.NewV2(feed.New(feed.Deps{Store: d.Store, Verifier: d.Verifier, Logger: d.Logger, Entry: d.Entry()})).ProxyWithContext)
}
