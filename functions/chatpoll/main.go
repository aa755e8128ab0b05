// Command chatpoll is the scheduled Lambda (EventBridge, every minute) that reads each
// polling account's Chat API chat export and durably stores every finished chat, as
// the chat webhook does: Zendesk Chat has no webhook of its own.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	p := chatpoll.New(chatpoll.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Logger: d.Logger})
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) (chatpoll.Report, error) {
		return p.Run(ctx)
	})
}
