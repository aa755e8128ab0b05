package functions_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// streamEvents are the DynamoDB stream events in events/transcripts, sent by
// TestTranscriptsBootstrapHandlesStreamEvents.
var streamEvents = []string{"insert-chat.json", "history-enabled.json", "insert-offline-chat.json", "scheduled.json"}

func TestTranscriptsBootstrapHandlesStreamEvents(t *testing.T) {
	bin := buildBootstraps(t)
	env := apptest.New(t)
	env.Connect(t, "acme")
	ctx := context.Background()
	cs := chatstore.New(env.Deps.Store)
	for _, name := range []string{"chat.json", "offline.json"} {
		raw, err := os.ReadFile(filepath.Join("..", "shared", "domain", "chats", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		c, err := chats.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		it, _ := chatstore.NewChatItem(c, time.Now())
		if err := cs.CreateChat(ctx, "acme", it); err != nil {
			t.Fatal(err)
		}
	}
	rt := startBootstrap(t, bin, "transcripts", env)
	send := func(name string, out any) {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join("..", "events", "transcripts", name))
		if err != nil {
			t.Fatal(err)
		}
		ictx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		res, err := rt.Invoke(ictx, raw)
		if err != nil || res.Error != nil {
			t.Fatalf("%s: %v %s", name, err, res.Error)
		}
		if err := json.Unmarshal(res.Payload, out); err != nil {
			t.Fatalf("%s: %v: %s", name, err, res.Payload)
		}
	}
	invoke := func(name string) events.DynamoDBEventResponse {
		t.Helper()
		var out events.DynamoDBEventResponse
		send(name, &out)
		return out
	}

	// History off: the chat is matched and its entry written, no note.
	if out := invoke("insert-chat.json"); len(out.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", out.BatchItemFailures)
	}
	e, err := cs.Entry(ctx, "acme", "FEED#lead#2001#2026-11-20T14:02:11Z#2401.10087.TYaHWx1xY7vAE")
	if err != nil || e.NoteID != 0 {
		t.Fatalf("entry %+v %v", e, err)
	}
	// The switch flips on: the job mirrors the entry as a note.
	if _, err := env.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
		in.Elements[settings.ChatHistoryInSell] = settings.ElementState{Enabled: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if out := invoke("history-enabled.json"); len(out.BatchItemFailures) != 0 {
		t.Fatalf("failures %+v", out.BatchItemFailures)
	}
	if e, _ = cs.Entry(ctx, "acme", e.SK); e.NoteID == 0 {
		t.Fatal("the history job left the entry without a note")
	}
	if job, _ := cs.Job(ctx, "acme"); job.State != chatstore.JobDone || job.Done != 1 {
		t.Fatalf("job %+v", job)
	}
	// Sell fails throughout: the record is reported for a retry and the chat marked.
	env.Sell.FailNext(100, 503)
	out := invoke("insert-offline-chat.json")
	if len(out.BatchItemFailures) != 1 || out.BatchItemFailures[0].ItemIdentifier != "300" {
		t.Fatalf("failures %+v", out.BatchItemFailures)
	}
	if it, _ := cs.Chat(ctx, "acme", "2401.555.OFF"); it.Status != chats.StatusFailed || it.Reason == "" {
		t.Fatalf("chat %+v", it)
	}

	// Sell answers 429 with a pause longer than a batch waits: the chat is queued for
	// the account's budget, not failed, and the batch reports nothing for a retry.
	env.Sell.Heal()
	env.Sell.FailNext(1, 429)
	if out := invoke("insert-chat.json"); len(out.BatchItemFailures) != 0 {
		t.Fatalf("a 429 was reported for a retry: %+v", out.BatchItemFailures)
	}
	if b, queued, err := env.Deps.Store.Backlog(ctx, "acme"); err != nil || !queued || b.Waiting() != 1 {
		t.Fatalf("backlog after a 429: %+v queued=%v err=%v", b, queued, err)
	}
	if it, _ := cs.Chat(ctx, "acme", "2401.10087.TYaHWx1xY7vAE"); it.Status == chats.StatusFailed {
		t.Fatalf("a 429 marked the chat failed: %+v", it)
	}
	// The schedule's event drains it.
	var rep struct{ Accounts, Processed, Failed, Left int }
	send("scheduled.json", &rep)
	if rep.Accounts != 1 || rep.Processed != 1 || rep.Failed != 0 || rep.Left != 0 {
		t.Fatalf("drain: %+v", rep)
	}
	if _, queued, _ := env.Deps.Store.Backlog(ctx, "acme"); queued {
		t.Fatal("the backlog is still open after the drain emptied it")
	}
	if it, _ := cs.Chat(ctx, "acme", "2401.10087.TYaHWx1xY7vAE"); it.Status != chats.StatusMatched {
		t.Fatalf("chat after the drain: %+v", it)
	}
}
