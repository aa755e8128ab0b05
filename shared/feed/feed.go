// Package feed serves the Chat app in Sell: GET /feed (a record's chat history,
// newest first), GET /apps/config (what the iframes need to know) and the static
// page at /apps/feed (and /apps/feed/) that shows the history inside Sell.
package feed

import (
	"context"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sellchat/sellchat/shared/app"
	"github.com/sellchat/sellchat/shared/auth"
	"github.com/sellchat/sellchat/shared/chats"
	"github.com/sellchat/sellchat/shared/chats/chatstore"
	"github.com/sellchat/sellchat/shared/httpx"
	"github.com/sellchat/sellchat/shared/settings"
	"github.com/sellchat/sellchat/shared/webpage"
)

// PageSize is how many chats one page of the feed holds.
const PageSize = 20

// web holds the feed page Sell's iframe loads: plain HTML, CSS and JavaScript.
//
//go:embed web
var web embed.FS

type handler struct {
	deps  *app.Deps
	chats *chatstore.Store
}

// New returns the feed function's routes.
func New(d *app.Deps) *httpx.Router {
	h := &handler{deps: d}
	if d.Store != nil {
		h.chats = chatstore.New(d.Store)
	}
	rt := httpx.NewRouter(d.Logger)
	signedIn := func(f httpx.HandlerFunc) httpx.HandlerFunc { return d.Verifier.Require(f) }
	rt.Handle("GET /feed", signedIn(h.feed))
	rt.Handle("GET /apps/config", signedIn(h.config))
	// The page is public: it holds no data and signs its calls with the agent's token.
	page, _ := fs.Sub(web, "web")
	webpage.Mount(rt, "/apps/feed", page, webpage.Logger(d.Logger))
	return rt
}

// Item is one chat in a record's feed.
type Item struct {
	ChatID          string          `json:"chatId"`
	Type            string          `json:"type"`
	Start           time.Time       `json:"start"`
	End             *time.Time      `json:"end"`
	DurationSeconds int64           `json:"durationSeconds"`
	Visitor         chats.Visitor   `json:"visitor"`
	Agents          []string        `json:"agents"`
	Department      string          `json:"department"`
	Rating          string          `json:"rating"`
	Comment         string          `json:"comment"`
	Tags            []string        `json:"tags"`
	Messages        []chats.Message `json:"messages"`
}

type page struct {
	HistoryVisible bool   `json:"historyVisible"`
	Items          []Item `json:"items"`
	NextCursor     string `json:"nextCursor,omitempty"`
}

// cursor is the position after a page. It names the account and record it belongs
// to, so that it cannot page through another record's (or account's) feed.
type cursor struct {
	Account string `json:"a"`
	Record  string `json:"r"`
	After   string `json:"k"`
}

var errBadCursor = &httpx.Error{Status: http.StatusBadRequest, Code: "invalid_cursor", Message: "cursor is not one this feed handed out; start again without it."}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, account string, r chats.Record) (string, error) {
	if len(s) > 1024 {
		return "", errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", errBadCursor
	}
	var c cursor
	if json.Unmarshal(b, &c) != nil || c.Account != account || c.Record != r.String() || !strings.HasPrefix(c.After, chats.FeedPrefix(r)) {
		return "", errBadCursor
	}
	return c.After, nil
}

func (h *handler) feed(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	q := r.URL.Query()
	rt := q.Get("resourceType")
	if !chats.ValidResource(rt) {
		return httpx.Invalid("resourceType", "invalid_value", "resourceType must be lead, contact or deal.")
	}
	rid, err := strconv.ParseInt(q.Get("resourceId"), 10, 64)
	if err != nil || rid <= 0 {
		return httpx.Invalid("resourceId", "invalid_value", "resourceId must be the id of a Sell record.")
	}
	rec := chats.Record{Type: rt, ID: rid}
	after := ""
	if c := q.Get("cursor"); c != "" {
		if after, err = decodeCursor(c, id.Account, rec); err != nil {
			return err
		}
	}
	in, err := h.deps.Store.Integration(r.Context(), id.Account)
	if err != nil {
		return err
	}
	if !in.Enabled(settings.ChatHistoryInSell) {
		httpx.WriteJSON(w, http.StatusOK, page{HistoryVisible: false, Items: []Item{}})
		return nil
	}
	entries, next, err := h.chats.Entries(r.Context(), id.Account, rec, after, PageSize)
	if err != nil {
		return err
	}
	items, err := h.items(r.Context(), id.Account, entries)
	if err != nil {
		return err
	}
	out := page{HistoryVisible: true, Items: items}
	if next != "" {
		out.NextCursor = encodeCursor(cursor{Account: id.Account, Record: rec.String(), After: next})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// items loads the chats of a page's entries, in parallel (a page is at most 20).
func (h *handler) items(ctx context.Context, account string, entries []chatstore.Entry) ([]Item, error) {
	out := make([]Item, len(entries))
	keep := make([]bool, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range entries {
		g.Go(func() error {
			it, err := h.chats.Chat(gctx, account, e.ChatID)
			if errors.Is(err, chatstore.ErrNotFound) {
				return nil // an entry whose chat was removed is skipped
			}
			if err != nil {
				return err
			}
			c, err := it.Chat()
			if err != nil {
				return err
			}
			out[i], keep[i] = view(c, it.Start), true
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(out))
	for i := range out {
		if keep[i] {
			items = append(items, out[i])
		}
	}
	return items, nil
}

func view(c chats.Chat, start time.Time) Item {
	it := Item{
		ChatID: c.ID, Type: c.Type, Start: start.UTC(), DurationSeconds: int64(c.Duration / time.Second),
		Visitor: chats.Visitor{Name: c.Visitor.Name, Email: c.Visitor.Email, Phone: c.Visitor.Phone},
		Agents:  orEmpty(c.Agents), Department: c.Department, Rating: c.Rating, Comment: c.Comment,
		Tags: orEmpty(c.Tags), Messages: c.Messages(),
	}
	if !c.End.IsZero() {
		end := c.End.UTC()
		it.End = &end
	}
	for i := range it.Messages {
		it.Messages[i].At = it.Messages[i].At.UTC()
	}
	return it
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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
