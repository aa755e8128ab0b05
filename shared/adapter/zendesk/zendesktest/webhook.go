package zendesktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
)

// Webhook signature headers (https://developer.zendesk.com/documentation/webhooks/verifying/).
const (
	WebhookSignatureHeader = "X-Zendesk-Webhook-Signature"
	WebhookTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
)

// WebhookRequest builds the POST a Support webhook makes to url with body, signed as
// Zendesk signs it: base64(HMAC-SHA256(secret, timestamp + body)), the timestamp being
// the sandbox's clock in zendesk.WebhookTimestampLayout. Serve it to a handler
// directly, or send it with SendWebhook. The signature is computed here from the
// documented recipe, not with the receiver's code, so the two check each other.
func (s *Sandbox) WebhookRequest(ctx context.Context, url, secret string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := s.now().UTC().Format(zendesk.WebhookTimestampLayout)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Zendesk Webhook")
	req.Header.Set(WebhookTimestampHeader, ts)
	req.Header.Set(WebhookSignatureHeader, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return req, nil
}

// SendWebhook posts body to url as a signed Support webhook (see WebhookRequest) and
// returns the response; the caller closes its body.
func (s *Sandbox) SendWebhook(url, secret string, body []byte) (*http.Response, error) {
	req, err := s.WebhookRequest(context.Background(), url, secret, body)
	if err != nil {
		return nil, err
	}
	return (&http.Client{Timeout: 30 * time.Second}).Do(req)
}
