package settings_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// TestTheIntegrationShowsHowFarTheChatPollHasRead: past chats reach Sell through the
// poll, so the admin sees how far it has read, how many it stored, and why it
// stopped if it did; nothing before its first run.
func TestTheIntegrationShowsHowFarTheChatPollHasRead(t *testing.T) {
	t.Parallel()
	env, h, tok := setup(t)
	type poll struct {
		ReadUpTo  time.Time
		LastError string
		Stored    int64
	}
	read := func() *poll {
		var in struct{ Chat struct{ Poll *poll } }
		res := apptest.Do(t, h, apptest.Request{Method: "GET", Path: "/integration", Token: tok})
		if res.Status != 200 {
			t.Fatalf("GET /integration: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &in)
		return in.Chat.Poll
	}
	if p := read(); p != nil {
		t.Fatalf("before any poll: %+v", p)
	}
	upTo := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if err := env.Deps.Store.SaveChatPollCursor(context.Background(), "acme", store.ChatPollCursor{
		StartTime: upTo, LastRunAt: upTo.Add(time.Hour), LastError: "Zendesk asked to wait (429)", Stored: 42}); err != nil {
		t.Fatal(err)
	}
	p := read()
	if p == nil || !p.ReadUpTo.Equal(upTo) || p.Stored != 42 || p.LastError == "" {
		t.Fatalf("after a poll: %+v", p)
	}
}
