package chatpoll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/tokens"
	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/conversation"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

// A messaging conversation is read when the Support webhook says its ticket was
// solved. When Zendesk would not give it then (the conversation log allows about
// 100 requests a minute per account; Zendesk unavailable), the ticket waits in the
// table (store.TicketWait), and each run of the poll reads the waiting tickets of
// every account, oldest first, through the same conversation.Read and Keep as the
// webhook, until the account's share of the log is spent or Zendesk says to wait.

// DefaultLogPagesPerRun is how many conversation log pages one run reads per
// account: four fifths of the log's minute (zendesk.ConversationLogRateLimitPerMinute),
// leaving the rest to the webhook, which reads newly solved tickets as they come.
// A page holds 100 events, so a conversation of up to 100 messages costs one.
const DefaultLogPagesPerRun = zendesk.ConversationLogRateLimitPerMinute * 4 / 5

// conversationBudget is the time a run keeps for one more conversation: its reads
// and its store, well within the Lambda's timeout.
const conversationBudget = 10 * time.Second

// readConversations reads the waiting tickets of every account that has some.
func (p *Poller) readConversations(ctx context.Context, rep *Report) []error {
	accounts, err := p.d.Store.TicketWaitAccounts(ctx)
	if err != nil {
		return []error{fmt.Errorf("conversations: %w", err)}
	}
	return p.each(ctx, accounts, rep, "conversations", p.readWaiting)
}

// readWaiting reads one account's waiting tickets, at most LogPagesPerRun pages of
// conversation log.
func (p *Poller) readWaiting(ctx context.Context, account string) (Report, error) {
	var rep Report
	log := p.d.Logger.With("account", account)
	w, err := p.d.Store.TicketWaits(ctx, account)
	if err != nil {
		return rep, err
	}
	if len(w.Tickets) == 0 {
		_, err := p.d.Store.CloseTicketWaits(ctx, account, w.N)
		return rep, err
	}
	now := p.d.Now().UTC()
	rep.ConversationsWaiting = len(w.Tickets)
	if now.Before(w.NotBefore) {
		return rep, nil // Zendesk's Retry-After
	}
	in, err := p.d.Store.Integration(ctx, account)
	if err != nil {
		return rep, err
	}
	if !in.Installed || !in.Enabled(settings.ChatHistoryInSell) || !in.Zendesk.Connected {
		// Switched off or disconnected: the tickets wait, and are read once it is back.
		return rep, nil
	}
	zc, err := p.d.Vault.ZendeskClient(ctx, account)
	if errors.Is(err, tokens.ErrNoToken) || errors.Is(err, tokens.ErrBroken) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	st, _, err := p.d.Store.Settings(ctx, account)
	if err != nil {
		return rep, err
	}
	r := waitingRun{p: p, account: account, zc: zc, internal: st.MessagingInternalNotes, now: now, log: log}
	read, err := r.tickets(ctx, w.Tickets, &rep)
	rep.ConversationsWaiting -= read
	if err == nil && read == len(w.Tickets) {
		_, err = p.d.Store.CloseTicketWaits(ctx, account, w.N)
	}
	return rep, err
}

// waitingRun is one account's read of its waiting tickets.
type waitingRun struct {
	p        *Poller
	account  string
	zc       *zendesk.Client
	internal bool
	now      time.Time
	log      *slog.Logger
	// stayed counts the tickets read this run whose wait did not end (notified
	// again while read): they still wait.
	stayed int
}

// tickets reads waits in order until the run's share of the log is spent, the
// run's time is nearly up or Zendesk says to wait, and returns how many waits it
// ended. A ticket that is no longer a solved messaging ticket, or no longer exists,
// ends its wait unread: solved again, it is notified again. A ticket Zendesk fails
// to give keeps waiting and the next one is tried, so one bad ticket holds up no
// other; a 429, or a token Zendesk refuses, stops the account's run.
func (r *waitingRun) tickets(ctx context.Context, waits []store.TicketWait, rep *Report) (int, error) {
	pages, ended := 0, 0
	for _, tw := range waits {
		if pages >= r.p.d.LogPagesPerRun {
			break
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < conversationBudget {
			break
		}
		n, next, err := r.one(ctx, tw, rep)
		if err != nil {
			return ended - r.stayed, err
		}
		if n > 0 {
			pages += n
		} else {
			pages++ // a failed read spent requests too; the budget bounds the run
		}
		if n >= 0 {
			ended++
		}
		if !next {
			break
		}
	}
	return ended - r.stayed, nil
}

// one reads and keeps one waiting ticket and ends its wait. It returns the log
// pages it read (0 when the wait ended unread), or -1 when the ticket keeps
// waiting; next is false when the account's run should stop (Zendesk's 429, a token
// it refuses). Its error is the store's.
func (r *waitingRun) one(ctx context.Context, tw store.TicketWait, rep *Report) (pages int, next bool, err error) {
	ticket := tw.Ticket
	log := r.log.With("ticket_id", ticket)
	t, err := conversation.Open(ctx, r.zc, ticket)
	var notSolved *conversation.NotSolvedError
	switch {
	case errors.Is(err, conversation.ErrNotMessaging), errors.As(err, &notSolved):
		log.Info("waiting ticket dropped", "reason", err.Error())
		return 0, true, r.end(ctx, tw)
	case err != nil:
		next, err := r.failed(ctx, ticket, err, rep)
		return -1, next, err
	}
	raw, events, err := conversation.Read(ctx, r.zc, t, r.internal)
	switch {
	case errors.Is(err, zendesk.ErrNotFound):
		// The ticket or its requester was deleted since: nothing is left to read.
		log.Info("waiting ticket dropped", "reason", err.Error())
		return 0, true, r.end(ctx, tw)
	case err != nil:
		next, err := r.failed(ctx, ticket, err, rep)
		return -1, next, err
	}
	id, outcome, err := conversation.NewKeeper(r.p.chats, r.p.d.Store).Keep(ctx, r.account, raw, r.now)
	switch {
	case chats.Invalid(err) || errors.Is(err, chatstore.ErrTooLarge):
		// Never storable (too large even compressed): reading it again would not help.
		rep.Rejected++
		log.Error("waiting conversation rejected", "err", err.Error())
		return 0, true, r.end(ctx, tw)
	case err != nil:
		return -1, false, fmt.Errorf("keep the conversation of ticket %d: %w", ticket, err)
	}
	log.Info("waiting conversation read", "chat_id", id, "outcome", string(outcome), "messages", events)
	rep.Conversations++
	return max(1, (events+zendesk.ConversationLogMaxPageSize-1)/zendesk.ConversationLogMaxPageSize), true,
		r.end(ctx, tw)
}

// end ends tw's wait. A ticket notified again while it was read stays: the
// notification may bring a newer solve, which the next run reads.
func (r *waitingRun) end(ctx context.Context, tw store.TicketWait) error {
	ended, err := r.p.d.Store.TicketRead(ctx, r.account, tw)
	if err == nil && !ended {
		r.stayed++
		r.log.Info("waiting ticket notified again while read: read again next run", "ticket_id", tw.Ticket)
	}
	return err
}

// failed counts a failed read on the ticket's wait and says whether the account's
// run goes on: after a 429 it holds the account's reads until Zendesk's
// Retry-After, and a token Zendesk refuses (401, 403) would fail every ticket alike;
// any other failure is the ticket's own. Only the store's errors are returned:
// Zendesk's are the wait's to outlast.
func (r *waitingRun) failed(ctx context.Context, ticket int64, readErr error, rep *Report) (next bool, err error) {
	var hold time.Time
	var limited *zendesk.RateLimited
	next = true
	switch {
	case errors.As(readErr, &limited):
		rep.RateLimited++
		hold, next = r.now.Add(orDefault(limited.RetryAfter, DefaultBackoff)), false
	case errors.Is(readErr, zendesk.ErrUnauthorized), errors.Is(readErr, zendesk.ErrForbidden):
		next = false
	}
	r.log.Warn("waiting conversation not read", "ticket_id", ticket, "err", readErr.Error())
	return next, r.p.d.Store.WaitForTicket(ctx, r.account, ticket, readErr.Error(), hold, r.now)
}
