package chatwebhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signature headers Zendesk sends with every webhook delivery.
const (
	HeaderSignature = "X-Zendesk-Webhook-Signature"
	HeaderTimestamp = "X-Zendesk-Webhook-Signature-Timestamp"
)

// MaxSkew is how far a delivery's timestamp may be from our clock. It blunts replays
// of a captured delivery; a redelivery of the same chat is caught by its id anyway.
const MaxSkew = 5 * time.Minute

// ErrBadSignature covers every reason a delivery is refused: which one is logged,
// never told to the sender.
var ErrBadSignature = errors.New("chatwebhook: webhook signature missing, stale or wrong")

// Sign returns the signature Zendesk computes: base64(HMAC-SHA256(secret, timestamp+body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery. The timestamp is signed as sent; to check its age it is
// read as RFC 3339 or as epoch seconds (Zendesk's documentation shows the former,
// some senders use the latter).
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if len(secret) == 0 || timestamp == "" || signature == "" || len(timestamp) > 64 || len(signature) > 128 {
		return ErrBadSignature
	}
	at, ok := parseTimestamp(timestamp)
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(at); d > MaxSkew || d < -MaxSkew {
		return ErrBadSignature
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil {
		return ErrBadSignature
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

func parseTimestamp(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
