package conversation

import (
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

var t0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func logEvent(typ, author, name string, supportID int64, content zendesk.LogContent, public bool, at time.Duration, files ...string) zendesk.LogEvent {
	e := zendesk.LogEvent{Type: typ, CreatedAt: t0.Add(at), Author: zendesk.LogAuthor{Type: author, DisplayName: name, SupportUserID: supportID},
		Content: content, Metadata: zendesk.LogMetadata{Public: public}}
	for _, f := range files {
		e.Attachments = append(e.Attachments, zendesk.LogAttachment{FileName: f})
	}
	return e
}

func TestAMessagingTicketBecomesAChatOfItsChannelWithTheRequesterAsVisitor(t *testing.T) {
	t.Parallel()
	ticket := zendesk.Ticket{ID: 83, Status: "solved", RequesterID: 7, Via: zendesk.TicketVia{Channel: "whatsapp"}}
	requester := zendesk.User{ID: 7, Name: "Wendy Whats", Email: "old@example.org", Role: zendesk.RoleEndUser}
	ids := []zendesk.Identity{
		{Type: zendesk.IdentityPhone, Value: "+14155550123"},
		{Type: zendesk.IdentityEmail, Value: "second@example.org"},
		{Type: zendesk.IdentityEmail, Value: "wendy@example.org", Primary: true},
	}
	text := func(s string) zendesk.LogContent { return zendesk.LogContent{Type: "text", Text: s} }
	events := []zendesk.LogEvent{
		// Out of order on purpose: the transcript follows created_at.
		logEvent(zendesk.LogConversationMessage, zendesk.AuthorAgent, "Ana Agent", 361, text("Happy to help."), true, 3*time.Second),
		logEvent(zendesk.LogConversationMessage, zendesk.AuthorUser, "Wendy", 7, text("Hi, I need a quote"), true, time.Second),
		logEvent(zendesk.LogConversationMessage, zendesk.AuthorBot, "Answer Bot", -1, text("An agent will be with you shortly."), true, 2*time.Second),
		logEvent(zendesk.LogConversationMessage, zendesk.AuthorUser, "Wendy", 7, zendesk.LogContent{Type: "file"}, true, 4*time.Second, "plan.pdf"),
		logEvent(zendesk.LogComment, zendesk.AuthorAgent, "Ana Agent", 361, zendesk.LogContent{Type: "html", Body: "<div class=\"zd-comment\"><p>Conversation with Wendy &amp; co</p></div>"}, false, 5*time.Second),
		logEvent("Messaging::SystemEvent", zendesk.AuthorBot, "", -1, text("ignored"), true, 6*time.Second),
	}
	raw, err := transcript(ticket, requester, ids, events, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chats.Parse(raw)
	if err != nil {
		t.Fatalf("the transcript does not parse as a chat: %v\n%s", err, raw)
	}
	if c.ID != "zdmsg-83" || c.Channel != "whatsapp" {
		t.Fatalf("chat %q of channel %q", c.ID, c.Channel)
	}
	if c.Visitor.Name != "Wendy Whats" || c.Visitor.Email != "wendy@example.org" || c.Visitor.Phone != "+14155550123" {
		t.Fatalf("visitor %+v: want the requester with the primary email and the phone identity", c.Visitor)
	}
	got := []string{}
	for _, m := range c.Messages() {
		got = append(got, m.From+": "+m.Text)
	}
	want := []string{"Wendy: Hi, I need a quote", "Answer Bot (bot): An agent will be with you shortly.", "Ana Agent: Happy to help.", "Wendy: sent a file: plan.pdf"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("transcript:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !c.Start.Equal(t0.Add(time.Second)) || !c.End.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("start %v end %v", c.Start, c.End)
	}
	if len(c.Agents) != 1 || c.Agents[0] != "Ana Agent" {
		t.Fatalf("agents %v", c.Agents)
	}
	if note := chats.NoteContent(c); !strings.HasPrefix(note, "Zendesk messaging conversation (WhatsApp)") {
		t.Fatalf("the note starts %q", strings.SplitN(note, "\n", 2)[0])
	}

	// The admin's opt-in brings internal notes in, marked, as plain text.
	raw, err = transcript(ticket, requester, ids, events, true)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = chats.Parse(raw)
	last := c.Messages()[len(c.Messages())-1]
	if last.Text != "(internal note) Conversation with Wendy & co" {
		t.Fatalf("internal note line %q", last.Text)
	}
}

func TestARequesterWithoutIdentitiesIsMatchedByTheirOwnEmail(t *testing.T) {
	t.Parallel()
	email, phone := zendesk.User{Email: "only@example.org"}.Contact(nil)
	if email != "only@example.org" || phone != "" {
		t.Fatalf("contact %q %q", email, phone)
	}
}
