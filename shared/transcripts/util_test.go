package transcripts_test

import (
	"github.com/aws/aws-lambda-go/events"
	"strconv"

	"github.com/sellchat/sellchat/shared/tokens"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func tokensAdmin() tokens.Holder { return tokens.Admin() }

type eventsRecord = events.DynamoDBEventRecord
