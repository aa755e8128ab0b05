package panel

import (
	"encoding/json"

	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Bounds of a lookup's answer. Sell's searches return up to 100 leads and 100
// contacts, each shown with up to widgets.MaxFields fields whose values (a lead's
// description, a custom text field) Sell does not bound, plus its deals: without
// these the answer could outgrow Lambda's 6 MB response (httpx.MaxAnswerBytes).
const (
	// MaxValueBytes bounds one field's value as the panel shows it; a sidebar beside
	// a chat has no room for more, and the whole text stays one click away in Sell.
	MaxValueBytes = 2 << 10
	// maxDealName bounds a deal's name.
	maxDealName = 256
)

// clipValues cuts every field value and deal name to its bound, marking the cut with "…".
func clipValues(m *Match) {
	for i := range m.Fields {
		m.Fields[i].Value, _ = httpx.Clip(m.Fields[i].Value, MaxValueBytes)
	}
	for i := range m.Deals {
		m.Deals[i].Name, _ = httpx.Clip(m.Deals[i].Name, maxDealName)
	}
}

// bound keeps as many matches, in their order, as fit in max bytes (counted as
// Lambda carries the answer) and counts the rest in Omitted: the agent sees the
// first matches and is told that more exist, rather than an error.
func bound(l *Lookup, max int) {
	for i := range l.Matches {
		clipValues(&l.Matches[i])
	}
	envelope := *l
	envelope.Matches = nil
	head, _ := json.Marshal(envelope)
	used := httpx.LambdaBytes(head) + 64 // "omitted" and the brackets, once
	for i, m := range l.Matches {
		b, err := json.Marshal(m)
		if err != nil {
			continue // cannot happen for these types; json.Marshal in WriteJSON would say so
		}
		used += httpx.LambdaBytes(b) + 1
		if used > max {
			l.Omitted = len(l.Matches) - i
			l.Matches = l.Matches[:i]
			return
		}
	}
}
