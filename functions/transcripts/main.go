// Command transcripts is the stream Lambda: it matches newly stored chats to Sell
// records, writes feed entries and mirrors them as notes, runs the history job
// when the switch flips, and runs visitors' erasures. It reports partial batch
// failures (ReportBatchItemFailures). Every minute its schedule drains the chats
// that waited for their account's Sell budget.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
)

func main() {
	d := app.MustLoad()
	h := transcripts.New(transcripts.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Logger: d.Logger}, phone.E164)
	lambda.Start(h.Invoke)
}
