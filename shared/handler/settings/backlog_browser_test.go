package settings_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sellchat/sellchat/infra/browsertest"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// TestTheSettingsPageDrawsTheBacklogAsAProgressBar: chats queued for the account's
// Sell budget show on the page as a bar, done of total with the time left at the
// pace the last drain measured; the bar follows the drain without a reload, and
// goes once the backlog is empty.
func TestTheSettingsPageDrawsTheBacklogAsAProgressBar(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a whole stack")
	}
	t.Parallel()
	p := openSettingsPage(t, auth.Identity{Account: "acme", UserID: "1", Email: "ada@example.com", Name: "Ada Admin", Role: auth.RoleAdmin, Chat: chatOwner})
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = fmt.Sprintf("import-%d", i+1)
	}
	// 3 of 10 done at 0.01 chats a second: 7 left, 700 s, about 12 minutes.
	owner := p.holdBacklog(ids, 3, 0.01)
	p.load()
	backlog := func(want string) chromedp.Action[chromedp.Void] {
		return until(`document.getElementById('chat-backlog-text').textContent === ` + strconv.Quote("Chats on their way to Sell, at Sell's pace: "+want+"."))
	}
	p.do("draw the backlog", chromedp.WaitVisible(chromedp.CSS("#chat-backlog")), backlog("3 of 10 done, about 12 minutes left"))
	if bar := p.evalString(`(b => b.value + ' of ' + b.max)(document.getElementById('chat-backlog-bar'))`); bar != "3 of 10" {
		t.Errorf("the bar is at %s, want 3 of 10", bar)
	}
	browsertest.Screenshot(t, p.ctx, "settings-backlog")

	// The drain (here the test, which holds the backlog's lease) takes two more: the
	// page's own refresh moves the bar.
	if err := p.stack.Deps.Store.Dequeue(context.Background(), "acme", ids[3:5]); err != nil {
		t.Fatal(err)
	}
	p.do("follow the drain without a reload", backlog("5 of 10 done, about 8 minutes left"))
	if bar := p.evalString(`(b => b.value + ' of ' + b.max)(document.getElementById('chat-backlog-bar'))`); bar != "5 of 10" {
		t.Errorf("the bar is at %s, want 5 of 10", bar)
	}

	// Let go: the stack's own drain takes the rest (chats that were never stored, so
	// each is done with at once) and closes the backlog; the bar goes.
	if err := p.stack.Deps.Store.ReleaseBacklog(context.Background(), "acme", owner, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	p.do("drop the bar once the backlog is empty", until(`document.getElementById('chat-backlog').hidden`))
}

// holdBacklog queues ids for acme and takes the backlog's lease, so that the stack's
// drain leaves it alone; done of them are counted drained, at rate (chats a second)
// as a drain measures it. It returns the lease's owner.
//
// The drain runs every 2 s and may take the backlog between two of these calls (after
// the Enqueue, or between the release that records the rate and the lease again);
// it then drains it, so the set-up waits for it to close and starts again.
func (p *settingsPage) holdBacklog(ids []string, done int, rate float64) string {
	p.t.Helper()
	const owner = "settings-page-test"
	s := p.stack.Deps.Store
	for try := 1; ; try++ {
		err := tryHoldBacklog(s, owner, ids, done, rate)
		if err == nil {
			return owner
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			p.t.Fatal(err)
		}
		if try == 5 {
			p.t.Fatalf("the stack's drain took the backlog %d times in a row: %v", try, err)
		}
		eventually(p.t, "the stack's drain to close the backlog it took", func() bool {
			_, found, err := s.Backlog(context.Background(), "acme")
			return err == nil && !found
		})
	}
}

func tryHoldBacklog(s *store.Store, owner string, ids []string, done int, rate float64) error {
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, "acme", ids, time.Now()); err != nil {
		return err
	}
	lease := func() error {
		_, err := s.LeaseBacklog(ctx, "acme", owner, time.Now().Add(5*time.Minute), time.Now())
		return err
	}
	if err := lease(); err != nil {
		return err
	}
	if err := s.Dequeue(ctx, "acme", ids[:done]); err != nil {
		return err
	}
	// Recording a rate ends the lease, as a drain run's end does.
	if err := s.ReleaseBacklog(ctx, "acme", owner, rate, time.Now()); err != nil {
		return err
	}
	return lease()
}
