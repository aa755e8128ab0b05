// Package gateway mounts every function's routes on one handler, as API Gateway does
// in AWS, and adds the local-only routes: POST /dev/token and GET /vendor/zaf_sdk.js
// (the pinned Zendesk apps framework SDK, see infra/zafsdk). It exists for `make run`
// and tests; the SAM template never deploys it.
package gateway

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/sellchat/sellchat/infra/zafsdk"
	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
	"github.com/sellchat/sellchat/shared/handler/feed"
	"github.com/sellchat/sellchat/shared/handler/leads"
	"github.com/sellchat/sellchat/shared/handler/oauth"
	"github.com/sellchat/sellchat/shared/handler/panel"
	"github.com/sellchat/sellchat/shared/handler/privacy"
	"github.com/sellchat/sellchat/shared/handler/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
	"github.com/sellchat/sellchat/shared/platform/webpage"
)

// Functions returns each Lambda function's routes, keyed by its folder under
// functions/. A new function is one line here; the template test checks that
// template.yaml wires the same routes to the same functions.
func Functions(d *app.Deps) map[string]*httpx.Router {
	// Each function takes the few things it uses, built here as its main builds them.
	c := d.Config
	return map[string]*httpx.Router{
		"settings": settings.New(settings.Deps{Store: d.Store, Vault: d.Vault, Box: d.Box, Verifier: d.Verifier, Logger: d.Logger, PublicBaseURL: c.PublicBaseURL, Entry: d.Entry()}),
		"oauth":    oauth.New(oauth.Deps{Store: d.Store, Vault: d.Vault, Verifier: d.Verifier, Logger: d.Logger, SellAPIURL: c.SellAPIURL, Sessions: d.Sessions, PublicBaseURL: c.PublicBaseURL, Box: d.Box}),
		"panel":    panel.New(panel.Deps{Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger, Entry: d.Entry(), Zendesk: d.Vault.ZendeskClient}),
		"leads": leads.New(leads.Deps{Store: d.Store, Gate: d.Gate(), Verifier: d.Verifier, Logger: d.Logger},
			transcripts.LeadAttacher(transcripts.Deps{Store: d.Store, Vault: d.Vault, Logger: d.Logger})),
		// chat history: the webhook and the feed; the transcripts function reads
		// the table's stream (locally: infra/streams, started by localstack).
		"chatwebhook": chatwebhook.New(chatwebhook.Deps{Store: d.Store, Box: d.Box, Vault: d.Vault, Accounts: c.Accounts, Logger: d.Logger}),
		"feed":        feed.New(feed.Deps{Store: d.Store, Verifier: d.Verifier, Logger: d.Logger, Entry: d.Entry()}),
		// a visitor's data and its erasure; the transcripts function runs erasures.
		"privacy": privacy.New(privacy.Deps{Store: d.Store, Box: d.Box, Verifier: d.Verifier, Logger: d.Logger, ReadPhone: phone.E164}),
	}
}

// Option changes what New serves beside the functions.
type Option func(*options)

type options struct {
	framedBy []string
}

// FramedBy lets origins frame the pages, beside FRAME_ANCESTORS' sources: the local
// stack's Zendesk sandbox, whose host page (GET /sandbox/host) frames the apps as
// Zendesk does. Each origin is a trusted scheme://host:port of this machine.
func FramedBy(origins ...string) Option {
	return func(o *options) { o.framedBy = append(o.framedBy, origins...) }
}

// New returns one handler serving every function plus POST /dev/token, which signs
// tokens with signer (whose public key the deployment's verifier must trust), and GET
// /vendor/zaf_sdk.js, the SDK copy the pages take on the loopback address.
func New(d *app.Deps, signer auth.Signer, opts ...Option) (http.Handler, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	rt := httpx.NewRouter(d.Logger)
	fns := Functions(d)
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	sort.Strings(names)
	owner := map[string]string{}
	for _, name := range names {
		for _, p := range fns[name].Patterns() {
			if other, dup := owner[p]; dup {
				return nil, fmt.Errorf("route %q is served by both %s and %s", p, other, name)
			}
			owner[p] = name
			rt.HandleHTTP(p, fns[name].Unwrapped())
		}
	}
	rt.Handle("POST /dev/token", devToken(signer))
	rt.Handle("GET "+webpage.LocalZAFSDKPath, zafSDK)
	if len(o.framedBy) == 0 {
		return rt, nil
	}
	return framedBy(rt, strings.Join(o.framedBy, " ")), nil
}

// zafSDK serves the pinned ZAF SDK, fetching it on first use when make setup has not
// (npm, once per cache). 503 when it cannot be had: the pages then run without it.
func zafSDK(w http.ResponseWriter, r *http.Request) error {
	p, err := zafsdk.Fetch(r.Context())
	if err != nil {
		return &httpx.Error{Status: http.StatusServiceUnavailable, Code: "zaf_sdk_unavailable",
			Message: "The local copy of the ZAF SDK could not be fetched (make setup fetches it with npm): " + err.Error()}
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeFile(w, r, p)
	return nil
}

// framedBy adds sources to the frame-ancestors of every Content-Security-Policy h
// answers with: the pages set theirs from FRAME_ANCESTORS when mounted, and the local
// stack's sandbox port is known only once it listens.
func framedBy(h http.Handler, sources string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&ancestorsWriter{ResponseWriter: w, sources: sources}, r)
	})
}

// ancestorsWriter widens the CSP once, just before the header goes out.
type ancestorsWriter struct {
	http.ResponseWriter
	sources string
	done    bool
}

func (a *ancestorsWriter) widen() {
	if a.done {
		return
	}
	a.done = true
	h := a.Header()
	if csp := h.Get("Content-Security-Policy"); strings.Contains(csp, "frame-ancestors ") {
		h.Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors ", "frame-ancestors "+a.sources+" ", 1))
	}
}

func (a *ancestorsWriter) WriteHeader(status int) { a.widen(); a.ResponseWriter.WriteHeader(status) }

func (a *ancestorsWriter) Write(b []byte) (int, error) { a.widen(); return a.ResponseWriter.Write(b) }

// Unwrap lets http.ResponseController reach the connection's writer (flushes, deadlines).
func (a *ancestorsWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

type tokenRequest struct {
	Account string    `json:"account"`
	UserID  string    `json:"userId"`
	Email   string    `json:"email"`
	Name    string    `json:"name"`
	Role    auth.Role `json:"role"`
	// Chat facts default to an account that passes the install checks: Chat phase 4
	// on the Professional plan, the caller its owner (for an owner) or an settings.
	ChatPhase   int    `json:"chatPhase"`
	ChatPlan    string `json:"chatPlan"`
	ChatRole    string `json:"chatRole"`
	SupportRole string `json:"supportRole"`
}

// devToken stands in for the Zendesk apps framework, which signs the JWTs that
// iframes send in production.
func devToken(signer auth.Signer) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req tokenRequest
		if err := httpx.DecodeJSON(r, &req); err != nil {
			return err
		}
		switch {
		case !auth.ValidAccount(req.Account):
			return httpx.Invalid("account", "invalid_value", "account must be a Zendesk subdomain such as \"acme\".")
		case req.UserID == "":
			return httpx.Invalid("userId", "required", "userId is required.")
		case !req.Role.Valid():
			return httpx.Invalid("role", "invalid_value", "role must be owner, admin or agent.")
		}
		facts := auth.ChatFacts{Phase: req.ChatPhase, Plan: req.ChatPlan, Role: req.ChatRole, SupportRole: req.SupportRole}
		if facts.Phase == 0 {
			facts.Phase = 4
		}
		if facts.Plan == "" {
			facts.Plan = "professional"
		}
		if facts.Role == "" {
			facts.Role = string(req.Role)
		}
		if facts.SupportRole == "" && req.Role != auth.RoleAgent {
			facts.SupportRole = "admin"
		}
		tok, err := signer.Sign(auth.Identity{Account: req.Account, UserID: req.UserID, Email: req.Email, Name: req.Name, Role: req.Role, Chat: facts})
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"token": tok})
		return nil
	}
}
