package leads_test

import (
	"context"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// TestALeadCreatedFromAChatGetsThatChatsHistory: a chat whose visitor matched nothing
// is kept; creating a lead from it (chatId) puts the chat in the new lead's feed.
func TestALeadCreatedFromAChatGetsThatChatsHistory(t *testing.T) {
	t.Parallel()
	env := apptest.New(t)
	env.ConnectForAllAgents(t, "acme")
	ctx := context.Background()
	chat, err := chats.Parse([]byte(`{"id":"2401.9.nina","type":"chat","timestamp":"2026-11-20T14:02:11Z",
		"visitor":{"name":"Nina New","email":"nina@example.com"},
		"history":[{"type":"chat.msg","name":"Nina New","nick":"visitor","msg":"Hi, pricing?","timestamp":"2026-11-20T14:02:30Z"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cs := chatstore.New(env.Deps.Store)
	item, err := chatstore.NewChatItem(chat, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CreateChat(ctx, "acme", item); err != nil {
		t.Fatal(err)
	}

	h := leads.New(leads.DepsOf(env), transcripts.LeadAttacher(env.TranscriptsDeps()))
	body := `{"firstName":"Nina","lastName":"New","email":"nina@example.com","chatId":"2401.9.nina"}`
	res := apptest.Do(t, h, apptest.Request{Method: "POST", Path: "/leads", Token: env.AgentToken(t, "acme", "361", "rex@example.com"), Body: body,
		Header: map[string]string{"Idempotency-Key": "chat-lead"}})
	lead := created(t, res)
	entries, _, err := cs.Entries(ctx, "acme", chats.Record{Type: sell.ResourceLead, ID: lead.ID}, "", 10)
	if err != nil || len(entries) != 1 {
		t.Fatalf("feed of the new lead: %v, %v", entries, err)
	}
}
