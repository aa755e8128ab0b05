package transcripts

import (
	"context"
	"errors"
	"fmt"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// ErrUnknownChat: Attach was given a chat id that is not stored for the account.
var ErrUnknownChat = errors.New("transcripts: no such chat")

// Attach puts a stored chat into the feed of one Sell record, typically a lead just
// created from that chat (POST /leads with chatId), and mirrors the note when history
// is enabled. Calling it again for the same chat and record changes nothing.
// resourceType is sell.ResourceLead, sell.ResourceContact or sell.ResourceDeal.
func Attach(ctx context.Context, d Deps, account, chatID, resourceType string, resourceID int64) error {
	return NewWith(d, Options{}).Attach(ctx, account, chatID, resourceType, resourceID)
}

// Attach is the package-level Attach on this processor.
func (p *Processor) Attach(ctx context.Context, account, chatID, resourceType string, resourceID int64) error {
	if !chats.ValidResource(resourceType) || resourceID <= 0 {
		return fmt.Errorf("attach chat %s: invalid record %s %d", chatID, resourceType, resourceID)
	}
	item, err := p.chats.Chat(ctx, account, chatID)
	if err == nil {
		item, err = p.expiring(ctx, account, item) // retention.go
	}
	if errors.Is(err, chatstore.ErrNotFound) {
		return fmt.Errorf("attach chat %s of %s: %w", chatID, account, ErrUnknownChat)
	}
	if err != nil {
		return err
	}
	c, err := item.Chat()
	if err != nil {
		return err
	}
	r := chats.Record{Type: resourceType, ID: resourceID}
	e := chatstore.NewEntry(r, c, item.Start, p.o.Now())
	e.Expires = item.Expires // an entry expires with its chat
	if err := p.chats.CreateEntry(ctx, account, e); err != nil && !errors.Is(err, chatstore.ErrExists) {
		return err
	}
	in, err := p.store.Integration(ctx, account)
	if err != nil {
		return err
	}
	// The record joins the chat's records whatever happens to its note, so that
	// reprocessing the chat (a replay) makes sure of the note too.
	outcome := chatstore.Outcome{Status: chats.StatusMatched, Records: []string{r.String()}}
	if item.Status == chats.StatusFailed {
		// Other records of the chat still wait for their notes: stay where replay
		// looks.
		outcome.Status, outcome.Reason = chats.StatusFailed, item.Reason
	}
	if in.Enabled(settings.ChatHistoryInSell) {
		err := p.retry(ctx, func() error {
			client, err := p.o.Sell(ctx, account)
			if err != nil {
				return err
			}
			return p.ensureNote(ctx, client, account, e.SK, c, item.Revision)
		})
		if err != nil {
			// The entry is in the feed; the chat is marked failed so that make
			// replay (or the dead-letter alarm's reader) brings the note.
			outcome.Status, outcome.Reason = chats.StatusFailed, "note on "+r.String()+": "+reasonOf(err)
			if serr := p.chats.SetOutcome(context.WithoutCancel(ctx), account, chatID, outcome, p.o.Now()); serr != nil {
				p.logger.Error("could not mark chat failed", "account", account, "chat_id", chatID, "err", serr.Error())
			}
			return fmt.Errorf("attach chat %s of %s: note: %w", chatID, account, err)
		}
	}
	return p.chats.SetOutcome(ctx, account, chatID, outcome, p.o.Now())
}

// LeadAttacher returns what the leads function calls after creating a lead from a
// chat: the chat's history is attached to the new lead. A chat sellchat never
// received (its webhook is not set up, say) is not an error for the lead.
func LeadAttacher(d Deps) func(ctx context.Context, account, chatID string, leadID int64) error {
	p := NewWith(d, Options{}) // attaching matches nothing: no phone reader needed
	return func(ctx context.Context, account, chatID string, leadID int64) error {
		err := p.Attach(ctx, account, chatID, sell.ResourceLead, leadID)
		if errors.Is(err, ErrUnknownChat) {
			return nil
		}
		return err
	}
}
