package settings_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// TestTheSettingsPageSaysHowManyMessagingConversationsWait: conversations Zendesk
// would not give yet show under the Agent Workspace line, with how long the oldest
// has waited and Zendesk's hold, so an admin sees nothing is lost; the line is not
// there while none waits.
func TestTheSettingsPageSaysHowManyMessagingConversationsWait(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	p := openSettingsPage(t, auth.Identity{Account: "acme", UserID: "1", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin, Chat: chatOwner})
	ctx, s := context.Background(), p.stack.Deps.Store
	// Zendesk connected (its token is not stored, so the stack's own chat poll leaves
	// the waiting tickets alone).
	if _, err := s.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
		in.Zendesk.Connected, in.Zendesk.ConnectedAt = true, time.Now().UTC()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p.load()
	p.do("no line while nothing waits", chromedp.WaitVisible(chromedp.CSS("#aw")), until(`document.getElementById('aw-waiting').hidden`))

	now := time.Now().UTC()
	for _, tk := range []int64{41, 42, 43} {
		if err := s.WaitForTicket(ctx, "acme", tk, "rate limited", now.Add(time.Hour), now.Add(-10*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	p.do("say how many wait", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#aw-waiting")),
		until(`(t => t.startsWith('3 messaging conversations wait for Zendesk to let sellchat read them (the oldest since ') &&
			t.includes('; Zendesk asked to wait until ') && t.endsWith('They are read once a minute and nothing is lost.'))(document.getElementById('aw-waiting').textContent)`))
	browsertest.Screenshot(t, p.ctx, "settings-messaging-waiting")
}
