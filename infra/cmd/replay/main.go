// Command replay re-drives chats whose processing failed, history jobs that did not
// finish, visitors' erasures that are not done, and retention re-stamp jobs that
// did not finish (`make replay`). The table is the record of what failed: every chat the
// transcripts function gave up on is marked failed there, so locally, where there is
// no SQS, the table is the dead-letter queue. In AWS, DLQ_URL names the SQS queue of
// the stream's on-failure destination; its messages point at stream batches, which
// are read again and handed to the same handler, and deleted once handled.
//
// Configuration: with TABLE_NAME set, the functions' environment (see README);
// otherwise the local stack of `make run` (.local/ keys, DynamoDB Local on
// DYNAMODB_PORT, the Sell sandbox on SELL_SANDBOX_PORT), which must be running.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out *os.File) error {
	deps, err := load(ctx)
	if err != nil {
		return err
	}
	p := transcripts.New(transcripts.Deps{Store: deps.Store, Vault: deps.Vault, Box: deps.Box, Logger: deps.Logger}, phone.E164)
	if url := os.Getenv("DLQ_URL"); url != "" {
		n, err := drainDLQ(ctx, deps, p, url)
		if err != nil {
			return fmt.Errorf("dead-letter queue: %w", err)
		}
		fmt.Fprintf(out, "dead-letter queue: %d batches handled again\n", n)
	}
	bar := progressBar(out)
	sum, err := p.Replay(ctx, bar)
	if bar != nil {
		fmt.Fprintln(out)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "replayed %d, now in feed %d, still failing %d", sum.Replayed, sum.InFeed, sum.StillFailing)
	if sum.Unmatched > 0 {
		fmt.Fprintf(out, " (%d matched nothing in Sell and wait for a lead)", sum.Unmatched)
	}
	fmt.Fprintln(out)
	if sum.Jobs > 0 {
		fmt.Fprintf(out, "history jobs run again %d, still unfinished %d\n", sum.Jobs, sum.JobsFailing)
	}
	if err := rerunJobs(ctx, out, "erasures", p.ReplayErasures); err != nil {
		return err
	}
	return rerunJobs(ctx, out, "retention jobs", p.ReplayRetention)
}

// rerunJobs runs one kind of unfinished job again (erasures, retention re-stamp
// jobs) under a progress bar and, when there were any, says how many ran and how
// many are still unfinished: each kind is replayed and told alike.
func rerunJobs(ctx context.Context, out *os.File, what string, replay func(context.Context, func(done, total int)) (transcripts.RerunSummary, error)) error {
	bar := progressBar(out)
	sum, err := replay(ctx, bar)
	if bar != nil && sum.Run > 0 {
		fmt.Fprintln(out)
	}
	if err != nil {
		return err
	}
	if sum.Run > 0 {
		fmt.Fprintf(out, "%s run again %d, still unfinished %d\n", what, sum.Run, sum.Failing)
	}
	return nil
}

// progressBar draws on a terminal only; piped output gets just the summary.
func progressBar(out *os.File) func(done, total int) {
	fi, err := out.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		const width = 30
		filled := width * done / max(total, 1)
		fmt.Fprintf(out, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
	}
}

func load(ctx context.Context) (*app.Deps, error) {
	if os.Getenv("TABLE_NAME") != "" {
		c, err := app.FromEnv(os.Getenv)
		if err != nil {
			return nil, err
		}
		return app.Build(ctx, c)
	}
	dir := envOr("SELLCHAT_LOCAL_DIR", ".local")
	key, err := os.ReadFile(filepath.Join(dir, "encryption.key"))
	if err != nil {
		return nil, fmt.Errorf("no local stack state in %s (run `make run` first): %w", dir, err)
	}
	raw, err := secrets.ParseKey(strings.TrimSpace(string(key)))
	if err != nil {
		return nil, err
	}
	box, err := secrets.NewBox(raw)
	if err != nil {
		return nil, err
	}
	db, err := store.NewClient(ctx, "us-east-1", "http://127.0.0.1:"+envOr("DYNAMODB_PORT", "8000"))
	if err != nil {
		return nil, err
	}
	sellURL := "http://127.0.0.1:" + envOr("SELL_SANDBOX_PORT", "8081")
	oauth := sell.OAuthConfig(sellURL, selltest.DefaultClientID, selltest.DefaultClientSecret, "http://127.0.0.1/oauth/callback", []string{"read", "write", "profile"})
	st := store.New(db, "sellchat")
	return &app.Deps{Store: st, Box: box, Vault: tokens.NewVault(st, box, oauth, sellURL),
		Verifier: &auth.Verifier{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, nil
}

// dlqMessage is what Lambda sends to a stream source's on-failure destination: where
// the failed batch is in the stream, not the records themselves.
type dlqMessage struct {
	BatchInfo struct {
		ShardID             string `json:"shardId"`
		StartSequenceNumber string `json:"startSequenceNumber"`
		EndSequenceNumber   string `json:"endSequenceNumber"`
		StreamArn           string `json:"streamArn"`
	} `json:"DDBStreamBatchInfo"`
}

// drainDLQ reads the batches the queue points at (while the stream still holds them,
// 24 hours) and hands them to the handler; handled messages are deleted. Batches
// already gone from the stream are left: their chats are marked failed in the table
// and are replayed from there.
func drainDLQ(ctx context.Context, d *app.Deps, p *transcripts.Processor, url string) (int, error) {
	o := d.Store.Client().Options()
	q := sqs.New(sqs.Options{Region: o.Region, Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN")))})
	sc := streams.Client(d.Store.Client())
	handled := 0
	for {
		res, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			return handled, err
		}
		if len(res.Messages) == 0 {
			return handled, nil
		}
		for _, m := range res.Messages {
			var msg dlqMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &msg); err != nil || msg.BatchInfo.StreamArn == "" {
				continue
			}
			recs, err := batch(ctx, sc, msg)
			if err != nil {
				continue
			}
			dead, err := streams.Deliver(ctx, p.Handle, recs, 25, 2)
			if err != nil {
				return handled, err
			}
			if len(dead) == 0 {
				handled++
				_, _ = q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
			}
		}
	}
}

func batch(ctx context.Context, sc *dynamodbstreams.Client, msg dlqMessage) ([]events.DynamoDBEventRecord, error) {
	b := msg.BatchInfo
	it, err := sc.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(b.StreamArn), ShardId: aws.String(b.ShardID),
		ShardIteratorType: st.ShardIteratorTypeAtSequenceNumber, SequenceNumber: aws.String(b.StartSequenceNumber)})
	if err != nil {
		return nil, err
	}
	var out []events.DynamoDBEventRecord
	for iter := it.ShardIterator; iter != nil; {
		res, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			return nil, err
		}
		for _, r := range res.Records {
			rec := streams.Convert(r, b.StreamArn)
			out = append(out, rec)
			if rec.Change.SequenceNumber == b.EndSequenceNumber {
				return out, nil
			}
		}
		if len(res.Records) == 0 {
			return out, nil
		}
		iter = res.NextShardIterator
	}
	if len(out) == 0 {
		return nil, errors.New("the batch is no longer in the stream")
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
