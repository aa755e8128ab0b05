package transcripts

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/chats/chatstore"
	"github.com/sellchat/sellchat/shared/settings"
)

// Handle is the stream handler: new chats are processed, and a flip of the history
// switch in an account's INTEGRATION item runs the mirroring job. Everything else in
// the stream is ignored. Records that failed in a way a retry may fix are reported
// in BatchItemFailures, so Lambda retries only from them (and, after its last retry,
// sends them to the dead-letter queue).
func (p *Processor) Handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	failed := make([]bool, len(ev.Records))
	var wg sync.WaitGroup
	sem := make(chan struct{}, p.o.Workers)
	jobs := map[string][]int{} // account → its INTEGRATION records: one job covers them all
	for i, rec := range ev.Records {
		account, sk := keyOf(rec)
		switch {
		case account == "":
		case strings.HasPrefix(sk, chatstore.ChatKey("")) && rec.EventName == string(events.DynamoDBOperationTypeInsert):
			sem <- struct{}{}
			wg.Add(1)
			go func(i int, chatID string) {
				defer func() { <-sem; wg.Done() }()
				if err := p.Process(ctx, account, chatID); err != nil {
					var perm *Permanent
					if !errors.As(err, &perm) {
						failed[i] = true
					}
					p.logger.Warn("chat not processed", "account", account, "chat_id", chatID, "err", err.Error(), "retry", failed[i])
				}
			}(i, strings.TrimPrefix(sk, chatstore.ChatKey("")))
		case sk == "INTEGRATION" && historyFlipped(rec):
			jobs[account] = append(jobs[account], i)
		}
	}
	for account, idx := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Converge(ctx, account); err != nil {
				p.logger.Warn("history job incomplete", "account", account, "err", err.Error())
				var perm *Permanent
				if !errors.As(err, &perm) {
					for _, i := range idx {
						failed[i] = true
					}
				}
			}
		}()
	}
	wg.Wait()
	var resp events.DynamoDBEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: ev.Records[i].Change.SequenceNumber})
		}
	}
	return resp, nil
}

func keyOf(rec events.DynamoDBEventRecord) (account, sk string) {
	pk, ok1 := rec.Change.Keys["pk"]
	s, ok2 := rec.Change.Keys["sk"]
	if !ok1 || !ok2 || pk.DataType() != events.DataTypeString || s.DataType() != events.DataTypeString {
		return "", ""
	}
	return chatstore.AccountOf(pk.String()), s.String()
}

// historyFlipped reports whether the record changes chat_history_in_sell's switch.
func historyFlipped(rec events.DynamoDBEventRecord) bool {
	if rec.EventName == string(events.DynamoDBOperationTypeRemove) {
		return false
	}
	return historyOn(rec.Change.OldImage) != historyOn(rec.Change.NewImage)
}

func historyOn(img map[string]events.DynamoDBAttributeValue) bool {
	els, ok := img["elements"]
	if !ok || els.DataType() != events.DataTypeMap {
		return false
	}
	st, ok := els.Map()[string(settings.ChatHistoryInSell)]
	if !ok || st.DataType() != events.DataTypeMap {
		return false
	}
	en, ok := st.Map()["enabled"]
	return ok && en.DataType() == events.DataTypeBoolean && en.Boolean()
}
