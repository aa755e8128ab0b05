// Package feed serves the Chat app in Sell: GET /feed (a record's chat history,
// newest first), GET /feed/chats/{chatId}/messages (the rest of a long transcript),
// GET /apps/config (what the iframes need to know) and the static page at /apps/feed
// (and /apps/feed/) that shows the history inside Sell. Every answer that grows with
// the data is bounded in bytes as well as in count (budget.go).
package feed

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// PageSize is how many chats one page of the feed holds at most; a page stops
// earlier when the next chat would take it over MaxPageBytes.
const PageSize = 20

// web holds the feed page Sell's iframe loads: plain HTML, CSS and JavaScript.
//
//go:embed web
var web embed.FS

// Deps are what the feed's routes use, built once by the function's main.
type Deps struct {
	Store    *store.Store
	Verifier *auth.Verifier
	Logger   *slog.Logger
	// Entry exchanges the token Zendesk posts to the page for a session (the
	// signed-app-token rule); nil answers 503 sessions_not_configured.
	Entry webpage.Exchange
}

type handler struct {
	deps  Deps
	chats *chatstore.Store
	lim   limits
}

// New returns the feed function's routes.
func New(d Deps) *httpx.Router { return newRouter(d, defaultLimits) }

func newRouter(d Deps, lim limits) *httpx.Router {
	h := &handler{deps: d, lim: lim}
	if d.Store != nil {
		h.chats = chatstore.New(d.Store)
	}
	rt := httpx.NewRouter(d.Logger)
	signedIn := func(f httpx.HandlerFunc) httpx.HandlerFunc { return d.Verifier.Require(f) }
	rt.Handle("GET /feed", signedIn(h.feed))
	rt.Handle("GET /feed/chats/{chatId}/messages", signedIn(h.messages))
	rt.Handle("GET /apps/config", signedIn(h.config))
	// The page is public: it holds no data and signs its calls with the agent's token.
	page, _ := fs.Sub(web, "web")
	webpage.Mount(rt, "/apps/feed", page, webpage.Logger(d.Logger), webpage.SignedEntry(d.Entry))
	return rt
}

// Item is one chat in a record's feed. Its fields are bounded (see MaxItemBytes): a
// long transcript shows its first messages, Truncated is set, and MessagesCursor
// continues it through GET /feed/chats/{chatId}/messages.
type Item struct {
	ChatID          string        `json:"chatId"`
	Type            string        `json:"type"`
	Channel         string        `json:"channel,omitempty"`      // a messaging conversation's channel
	ChannelLabel    string        `json:"channelLabel,omitempty"` // its name as people know it
	Start           time.Time     `json:"start"`
	End             *time.Time    `json:"end"`
	DurationSeconds int64         `json:"durationSeconds"`
	Visitor         chats.Visitor `json:"visitor"`
	Agents          []string      `json:"agents"`
	Department      string        `json:"department"`
	Rating          string        `json:"rating"`
	Comment         string        `json:"comment"`
	Tags            []string      `json:"tags"`
	Messages        []Message     `json:"messages"`
	// MessageCount is how many messages the whole transcript has.
	MessageCount int `json:"messageCount"`
	// Truncated: Messages holds only the first len(Messages) of MessageCount.
	Truncated bool `json:"truncated"`
	// MessagesCursor, when Truncated, is the cursor of the messages after those shown.
	MessagesCursor string `json:"messagesCursor,omitempty"`
}

// Message is one line of a transcript: plain text, never markup.
type Message struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	Text string    `json:"text"`
	// TextTruncated: Text is the first MaxMessageText bytes of a longer message.
	TextTruncated bool `json:"textTruncated,omitempty"`
}

type page struct {
	HistoryVisible bool              `json:"historyVisible"`
	Items          []json.RawMessage `json:"items"`
	NextCursor     string            `json:"nextCursor,omitempty"`
}

// cursor is a position in a record's feed (After, the last key read) or in one of
// its chats' transcript (Chat and Index, the next message). It names the account and
// record it belongs to, so that it cannot page through another record's (or
// account's) feed.
type cursor struct {
	Account string `json:"a"`
	Record  string `json:"r"`
	After   string `json:"k,omitempty"`
	Chat    string `json:"c,omitempty"`
	Index   int    `json:"i,omitempty"`
}

var errBadCursor = &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Message: "cursor is not one this feed handed out; start again without it."}

// maxCursor bounds a cursor we read. Ours stay under it: a chat id is at most 128
// bytes and is written without HTML escapes, so no cursor passes 600 characters.
const maxCursor = 1024

func encodeCursor(c cursor) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // '<' in a chat id would take six bytes, not one
	_ = enc.Encode(c)
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSpace(b.Bytes()))
}

// readCursor decodes s, which must belong to account and record r.
func readCursor(s, account string, r chats.Record) (cursor, error) {
	if len(s) > maxCursor {
		return cursor{}, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, errBadCursor
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil || c.Account != account || c.Record != r.String() {
		return cursor{}, errBadCursor
	}
	return c, nil
}

// decodeCursor reads a feed cursor: the key to continue after.
func decodeCursor(s, account string, r chats.Record) (string, error) {
	c, err := readCursor(s, account, r)
	if err != nil || c.Chat != "" || !strings.HasPrefix(c.After, chats.FeedPrefix(r)) {
		return "", errBadCursor
	}
	return c.After, nil
}

// record reads the Sell record a request names in resourceType and resourceId.
func record(q url.Values) (chats.Record, error) {
	rt := q.Get("resourceType")
	if !chats.ValidResource(rt) {
		return chats.Record{}, httpx.Invalid("resourceType", "invalid_value", "resourceType must be lead, contact or deal.")
	}
	rid, err := strconv.ParseInt(q.Get("resourceId"), 10, 64)
	if err != nil || rid <= 0 {
		return chats.Record{}, httpx.Invalid("resourceId", "invalid_value", "resourceId must be the id of a Sell record.")
	}
	return chats.Record{Type: rt, ID: rid}, nil
}

func (h *handler) feed(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	q := r.URL.Query()
	rec, err := record(q)
	if err != nil {
		return err
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		if after, err = decodeCursor(c, id.Account, rec); err != nil {
			return err
		}
	}
	if shown, err := h.historyShown(w, r, id.Account, page{HistoryVisible: false, Items: []json.RawMessage{}}); !shown {
		return err
	}
	entries, next, err := h.chats.Entries(r.Context(), id.Account, rec, after, h.lim.pageItems)
	if err != nil {
		return err
	}
	loaded, err := h.load(r.Context(), id.Account, entries)
	if err != nil {
		return err
	}
	out := page{HistoryVisible: true, Items: []json.RawMessage{}}
	used := envelopeReserve
	for i, c := range loaded {
		if c == nil {
			continue // an entry whose chat was removed is skipped
		}
		b, err := h.item(id.Account, rec, c)
		if err != nil {
			return err
		}
		cost := httpx.LambdaBytes(b) + 1
		// The page ends before the chat that would cross the budget, and the cursor
		// resumes right after the last entry read, so nothing is lost or repeated.
		// The first chat always goes in: MaxItemBytes is far below the budget.
		if len(out.Items) > 0 && used+cost > h.lim.pageBytes {
			next = entries[i-1].SK
			break
		}
		used += cost
		out.Items = append(out.Items, b)
	}
	if next != "" {
		out.NextCursor = encodeCursor(cursor{Account: id.Account, Record: rec.String(), After: next})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// historyShown reports whether the account shows chat history in Sell. When it does
// not, it has already answered with empty (the route's empty page) and the route ends:
// the record then simply has no history to show, and none of its chats is read.
func (h *handler) historyShown(w http.ResponseWriter, r *http.Request, account string, empty any) (bool, error) {
	in, err := h.deps.Store.Integration(r.Context(), account)
	if err != nil {
		return false, err
	}
	if !in.Enabled(settings.ChatHistoryInSell) {
		httpx.WriteJSON(w, http.StatusOK, empty)
		return false, nil
	}
	return true, nil
}

// storedChat is a chat as the feed shows it, with the start it is filed under.
type storedChat struct {
	chats.Chat
	start time.Time
}

// load reads the chats of a page's entries, in parallel (a page is at most 20); an
// entry whose chat was removed gives nil.
func (h *handler) load(ctx context.Context, account string, entries []chatstore.Entry) ([]*storedChat, error) {
	out := make([]*storedChat, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range entries {
		g.Go(func() error {
			c, err := decodeChat(h.chats.Chat(gctx, account, e.ChatID))
			if errors.Is(err, chatstore.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			out[i] = &c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeChat decodes a chat read from the chat store. The read's error comes back as
// it was, chatstore.ErrNotFound included, for the caller to say what a missing chat means.
func decodeChat(it chatstore.ChatItem, err error) (storedChat, error) {
	if err != nil {
		return storedChat{}, err
	}
	c, err := it.Chat()
	if err != nil {
		return storedChat{}, err
	}
	return storedChat{Chat: c, start: it.Start}, nil
}

// item encodes c's feed item within the item budget: its first messages that fit,
// and when they are not all of them, the cursor of the rest.
func (h *handler) item(account string, rec chats.Record, c *storedChat) ([]byte, error) {
	it := head(c.Chat, c.start)
	all := transcript(c.Chat)
	it.MessageCount = len(all)
	rest := func(from int) string {
		return encodeCursor(cursor{Account: account, Record: rec.String(), Chat: c.ID, Index: from})
	}
	// The item without messages, costed as if truncated with the longest cursor it
	// could carry: whatever fits beside that fits beside the real one.
	probe := it
	probe.Truncated, probe.MessagesCursor = true, rest(len(all))
	pb, err := json.Marshal(probe)
	if err != nil {
		return nil, fmt.Errorf("encode feed item %s: %w", c.ID, err)
	}
	n := fit(all, h.lim.previewMessages, h.lim.itemBytes, httpx.LambdaBytes(pb), false)
	it.Messages = all[:n]
	if n < len(all) {
		it.Truncated, it.MessagesCursor = true, rest(n)
	}
	b, err := json.Marshal(it)
	if err != nil {
		return nil, fmt.Errorf("encode feed item %s: %w", c.ID, err)
	}
	return b, nil
}

type elementView struct {
	Enabled bool `json:"enabled"`
}

type config struct {
	Elements       map[settings.Element]elementView `json:"elements"`
	SignInOnLoad   bool                             `json:"signInOnLoad"`
	ChatSubdomain  string                           `json:"chatSubdomain"`
	HistoryVisible bool                             `json:"historyVisible"`
}

func (h *handler) config(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	in, err := h.deps.Store.Integration(r.Context(), id.Account)
	if err != nil {
		return err
	}
	els := map[settings.Element]elementView{}
	for _, e := range settings.Elements {
		els[e] = elementView{Enabled: in.Enabled(e)}
	}
	httpx.WriteJSON(w, http.StatusOK, config{
		Elements: els, SignInOnLoad: in.State(settings.ChatAppInSell).SignInOnLoad,
		ChatSubdomain: id.Account, HistoryVisible: in.Enabled(settings.ChatHistoryInSell),
	})
	return nil
}
