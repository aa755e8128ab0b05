// Package conversation reads a Zendesk messaging conversation (web and mobile
// messaging, WhatsApp, Instagram, Messenger… answered as a Support ticket) and keeps
// it as a chat of the same transcript model as Zendesk Chat's. The ticket, its
// requester and their identities, and its conversation log are read server-side with
// the account's Zendesk connection; the chat goes through the durable ingest, so the
// stream, Sell's pace, redaction, erasure and retention apply to it unchanged.
//
// Two callers read conversations: the Support webhook, when the trigger says a
// messaging ticket was solved, and the chat poll, which reads the tickets the webhook
// could not read then (store.TicketWait: the conversation log's own limit, Zendesk
// unavailable), so a conversation is queued and read later, never dropped.
package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// ErrNotMessaging is a ticket that is not a messaging conversation: there is no such
// ticket, or it came through another channel (a chat's ticket, an email).
var ErrNotMessaging = errors.New("conversation: not a messaging ticket")

// NotSolvedError is a messaging ticket that is not solved (nor closed): a
// notification is a hint, never the truth, and only a solved conversation is read.
type NotSolvedError struct{ Status string }

func (e *NotSolvedError) Error() string {
	return "conversation: the ticket is " + e.Status + ", not solved"
}

// Solved is a solved messaging ticket, as Open found it.
type Solved struct {
	Ticket zendesk.Ticket
	// requester is the ticket's requester when Zendesk side-loaded it (nil: Read
	// reads it).
	requester *zendesk.User
}

// Open reads ticket id with zc (its requester side-loaded: one Support request
// fewer of the account's minute) and returns it if it is a solved messaging
// ticket; ErrNotMessaging or a *NotSolvedError when it is not, Zendesk's error when
// the ticket could not be read.
func Open(ctx context.Context, zc *zendesk.Client, id int64) (Solved, error) {
	t, requester, found, err := zc.TicketAndRequester(ctx, id)
	switch {
	case errors.Is(err, zendesk.ErrNotFound):
		return Solved{}, fmt.Errorf("ticket %d: %w", id, ErrNotMessaging)
	case err != nil:
		return Solved{}, err
	case !zendesk.IsMessaging(t.Via.Channel, nil):
		return Solved{}, fmt.Errorf("ticket %d of channel %q: %w", id, t.Via.Channel, ErrNotMessaging)
	case t.Status != "solved" && t.Status != "closed":
		return Solved{}, &NotSolvedError{Status: t.Status}
	}
	s := Solved{Ticket: t}
	if found {
		s.requester = &requester
	}
	return s, nil
}

// Read reads the conversation of s (a ticket Open returned): its requester (unless
// side-loaded), their identities and its conversation log, and returns the chat
// object of it and how many log events it read. Internal notes are kept only when
// internal is true (the admin's opt-in). Its errors are Zendesk's (a
// *zendesk.RateLimited past the log's limit): the caller keeps the ticket waiting and
// reads it again later.
func Read(ctx context.Context, zc *zendesk.Client, s Solved, internal bool) (raw []byte, events int, err error) {
	t := s.Ticket
	var requester zendesk.User
	if s.requester != nil {
		requester = *s.requester
	} else if requester, err = zc.User(ctx, t.RequesterID); err != nil {
		return nil, 0, err
	}
	ids, err := zc.Identities(ctx, t.RequesterID)
	if err != nil {
		return nil, 0, err
	}
	log, err := zc.ConversationLog(ctx, t.ID)
	if err != nil {
		return nil, 0, err
	}
	raw, err = transcript(t, requester, ids, log, internal)
	if err != nil {
		return nil, 0, fmt.Errorf("the conversation of ticket %d: %w", t.ID, err)
	}
	return raw, len(log), nil
}

// Outcome is what Keep did with a conversation.
type Outcome string

const (
	Stored    Outcome = "stored"    // new: processed through the stream (or the backlog)
	Duplicate Outcome = "duplicate" // stored before, unchanged: a redelivery
	Revised   Outcome = "revised"   // stored before and changed (reopened, solved again): processed again
	Erased    Outcome = "erased"    // its visitor was erased: not stored again
)

// Keeper keeps conversations through the durable ingest.
type Keeper struct {
	chats *chatstore.Store // chatstore.ForIngest's: erasures and the account's pace apply
	store *store.Store
}

// NewKeeper returns a keeper storing through chats (chatstore.ForIngest's) and
// queueing revisions in s.
func NewKeeper(chats *chatstore.Store, s *store.Store) Keeper {
	return Keeper{chats: chats, store: s}
}

// Keep stores the conversation raw (Read's) of the account, received at now, once:
// a conversation stored before and changed since replaces the stored one and is
// queued to be processed again, which updates its notes (one per record, as before).
// It returns the chat id and what it did.
func (k Keeper) Keep(ctx context.Context, account string, raw []byte, now time.Time) (string, Outcome, error) {
	c, err := k.chats.Ingest(ctx, account, raw, now)
	switch {
	case errors.Is(err, chatstore.ErrErased):
		return c.ID, Erased, nil
	case errors.Is(err, chatstore.ErrExists):
		revised, err := k.revise(ctx, account, raw, now)
		if err != nil {
			return c.ID, "", err
		}
		if revised {
			return c.ID, Revised, nil
		}
		return c.ID, Duplicate, nil
	case err != nil:
		return c.ID, "", err
	}
	return c.ID, Stored, nil
}

// revise replaces the stored conversation by raw if it changed, and queues it for
// the drain, which processes it again (the stream only passes new chats).
func (k Keeper) revise(ctx context.Context, account string, raw []byte, now time.Time) (bool, error) {
	c, revised, err := k.chats.ReviseChat(ctx, account, raw, now)
	if errors.Is(err, store.ErrConflict) {
		// Another delivery revised it at this moment: that one queues it.
		return true, nil
	}
	if err != nil || !revised {
		return false, err
	}
	if _, err := k.store.Enqueue(ctx, account, []string{c.ID}, now); err != nil {
		return true, err
	}
	return true, nil
}
