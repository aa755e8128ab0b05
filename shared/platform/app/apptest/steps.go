package apptest

// Steps that the tests of several packages (the adapters' and infra's) took in the
// same words: each is written once here, so those tests read as what they do and a
// change to how the step is done is made in one place.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/infra/streams"
	"github.com/sellchat/sellchat/infra/template"
	"github.com/sellchat/sellchat/shared/adapter/secrets"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/chatwebhook"
)

// SealWebhookSecret stores secret, sealed, as account's Chat webhook signing secret,
// as the settings page does when an admin enters it, so chats signed with secret are
// taken by POST /webhooks/chat/{account}.
func (e *Env) SealWebhookSecret(t testing.TB, account, secret string) {
	t.Helper()
	if _, err := e.Deps.Store.UpdateIntegration(context.Background(), account, func(in *settings.Integration) error {
		in.WebhookSecret = e.Deps.Box.Seal([]byte(secret), secrets.AAD(account, "webhook_secret"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// StoreChatFiles stores the chats in the files at paths (webhook bodies, such as
// shared/domain/chats/testdata's) for account, received now, as they are before the
// transcripts function has seen them: parsed as they are, with no redaction, so
// stream events that name them find them.
func (e *Env) StoreChatFiles(t testing.TB, account string, paths ...string) {
	t.Helper()
	cs := chatstore.New(e.Deps.Store)
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		var c chats.Chat
		if err == nil {
			c, err = chats.Parse(raw)
		}
		var it chatstore.ChatItem
		if err == nil {
			it, err = chatstore.NewChatItem(c, time.Now())
		}
		if err == nil {
			err = cs.CreateChat(context.Background(), account, it)
		}
		if err != nil {
			t.Fatalf("store the chat of %s: %v", p, err)
		}
	}
}

// PostSignedChat posts body to account's chat webhook of the deployment at baseURL
// over HTTP, signed with secret as Zendesk signs it, and returns the answer's status.
func PostSignedChat(t testing.TB, baseURL, account, secret, body string) int {
	t.Helper()
	ts := time.Now().UTC().Format(time.RFC3339)
	req, err := http.NewRequest("POST", baseURL+"/webhooks/chat/"+account, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = http.Header{
		chatwebhook.HeaderTimestamp: {ts},
		chatwebhook.HeaderSignature: {chatwebhook.Sign([]byte(secret), ts, []byte(body))},
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Redirect is where a GET of u sends a browser, without following it: the answer's
// status and its Location resolved against u (empty when there is none). OAuth
// authorize pages are walked this way, their redirect carrying the code or the error.
func Redirect(t testing.TB, u string) (int, *url.URL) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := res.Location()
	if errors.Is(err, http.ErrNoLocation) {
		return res.StatusCode, &url.URL{}
	}
	if err != nil {
		t.Fatalf("GET %s: Location %q: %v", u, res.Header.Get("Location"), err)
	}
	return res.StatusCode, loc
}

// TranscriptsStreamFilters are the filters template.yaml gives the transcripts
// function's stream, as Lambda applies them: a record they drop never reaches it.
func TranscriptsStreamFilters(t testing.TB) streams.Filters {
	t.Helper()
	patterns, err := template.StreamFilters(template.TranscriptsFunction)
	var filters streams.Filters
	if err == nil {
		filters, err = streams.ParseFilters(patterns)
	}
	if err != nil {
		t.Fatalf("the transcripts function's stream filters: %v", err)
	}
	return filters
}
