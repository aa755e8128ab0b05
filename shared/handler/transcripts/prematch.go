package transcripts

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/chats"
)

// Matching a stream batch at once.
//
// Matching chats one by one costs each chat two searches and, when a contact
// matched, a deal listing, on top of the notes it writes. The chats of one
// account that arrive in one stream batch are matched together instead: one
// search per resource for all their visitors (Client.FindMany) and one deal
// listing for all the contacts they matched. Each chat's first try then uses
// its pre-match in place of match; its later tries, and every chat processed
// alone (replay, the leads function), match on their own as before. Matching is
// a read, so a pre-match is as good as the match the chat would have made a few
// milliseconds later; anything that goes wrong with it only sends the chats
// back to matching on their own.

// prematches maps a chat id to the records its visitor matched; chats absent
// from it match on their own.
type prematches map[string][]chats.Record

// prematch looks up the visitors of chatIDs together. It never fails: a chat it
// cannot pre-match is left out.
func (p *Processor) prematch(ctx context.Context, account string, chatIDs []string) prematches {
	if len(chatIDs) < 2 {
		return nil // nothing to share
	}
	client, err := p.o.Sell(ctx, account)
	if err != nil {
		return nil // each chat reports it
	}
	ids, visitors := p.visitorsOf(ctx, account, chatIDs)
	if len(ids) < 2 {
		return nil
	}
	ms, err := client.FindMany(ctx, visitors)
	if err != nil {
		p.logger.Warn("batch match failed; chats match one by one", "account", account, "chats", len(ids), "err", err.Error())
		return nil
	}
	var contactIDs []int64
	for _, m := range ms {
		for _, ct := range m.Contacts {
			contactIDs = append(contactIDs, ct.ID)
		}
	}
	deals, dealsErr := client.DealsForContacts(ctx, contactIDs...)
	if dealsErr == nil && len(deals) >= sell.DealsListCap {
		// The listing may have been cut short; a chat's own would not be.
		dealsErr = errDealsCapped
	}
	if dealsErr != nil {
		p.logger.Warn("batch deal listing failed; chats with contacts match one by one", "account", account, "contacts", len(contactIDs), "err", dealsErr.Error())
	}
	out := make(prematches, len(ids))
	for i, m := range ms {
		if len(m.Contacts) > 0 && dealsErr != nil {
			continue
		}
		out[ids[i]] = recordsOf(m, deals)
	}
	return out
}

// errDealsCapped: the batch's deal listing returned as many deals as one may.
var errDealsCapped = errors.New("transcripts: the batch's deal listing reached its cap")

// visitorsOf reads chatIDs (concurrently, up to Workers at once) and returns
// those whose visitor can be looked up, with their visitors. A chat that cannot
// be read is left to its own processing, which reports why.
func (p *Processor) visitorsOf(ctx context.Context, account string, chatIDs []string) ([]string, []sell.Visitor) {
	vs := make([]*sell.Visitor, len(chatIDs))
	var g errgroup.Group
	g.SetLimit(p.o.Workers)
	for i, id := range chatIDs {
		g.Go(func() error {
			item, err := p.chats.Chat(ctx, account, id)
			if err != nil {
				return nil
			}
			c, err := item.Chat()
			if err != nil || (c.Visitor.Email == "" && c.Visitor.Phone == "") {
				return nil
			}
			if c.Visitor.Phone != "" && p.o.ReadPhone == nil {
				return nil // fails on its own path, permanently, as it always has
			}
			vs[i] = &sell.Visitor{Email: c.Visitor.Email, Phone: c.Visitor.Phone, ReadPhone: p.o.ReadPhone}
			return nil
		})
	}
	_ = g.Wait()
	var ids []string
	var out []sell.Visitor
	for i, v := range vs {
		if v != nil {
			ids, out = append(ids, chatIDs[i]), append(out, *v)
		}
	}
	return ids, out
}

// recordsOf are a visitor's records as match returns them: leads, contacts,
// then the deals (of all listed) whose primary contact is one of the contacts.
func recordsOf(m sell.Matches, deals []sell.Deal) []chats.Record {
	var out []chats.Record
	mine := make(map[int64]bool, len(m.Contacts))
	for _, l := range m.Leads {
		out = append(out, chats.Record{Type: chats.ResourceLead, ID: l.ID})
	}
	for _, ct := range m.Contacts {
		out = append(out, chats.Record{Type: chats.ResourceContact, ID: ct.ID})
		mine[ct.ID] = true
	}
	if len(mine) > 0 {
		for _, d := range deals {
			if mine[d.ContactID] {
				out = append(out, chats.Record{Type: chats.ResourceDeal, ID: d.ID})
			}
		}
	}
	return out
}
