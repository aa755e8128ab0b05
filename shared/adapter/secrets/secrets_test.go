package secrets

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealedValuesOpenOnlyWhereTheyWereSealed(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec_0123456789")
	box := newBox(t)
	sealed := box.Seal(secret, AAD("acme", "webhook_secret"))
	if bytes.Contains(sealed, secret) {
		t.Fatal("the sealed value contains the secret in clear")
	}

	t.Run("it opens with the same account and kind", func(t *testing.T) {
		got, err := box.Open(sealed, AAD("acme", "webhook_secret"))
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	cases := []struct {
		name   string
		sealed []byte
		aad    []byte
	}{
		{"it does not open for another account", sealed, AAD("globex", "webhook_secret")},
		{"it does not open as another kind", sealed, AAD("acme", "admin_token")},
		{"a flipped byte is refused", flip(sealed, len(sealed)-1), AAD("acme", "webhook_secret")},
		{"a truncated value is refused", sealed[:10], AAD("acme", "webhook_secret")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := box.Open(c.sealed, c.aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("err = %v, want ErrOpen", err)
			}
		})
	}
	t.Run("another key cannot open it", func(t *testing.T) {
		if _, err := newBox(t).Open(sealed, AAD("acme", "webhook_secret")); !errors.Is(err, ErrOpen) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseKeyRefusesWrongLengths(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", "c2hvcnQ=", "zz", "00112233"} {
		if _, err := ParseKey(k); err == nil {
			t.Errorf("ParseKey(%q) accepted a bad key", k)
		}
	}
}

// newBox is a box under a fresh key, as a deployment makes one from its configured
// key: each test that needs a key of its own (or two different ones) takes it here.
func newBox(t *testing.T) *Box {
	t.Helper()
	key, err := ParseKey(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0xff
	return c
}

func TestKeyedHashesNameAValueOnlyUnderTheirKeyAndPurpose(t *testing.T) {
	t.Parallel()
	a, other := newBox(t), newBox(t)
	email := []byte("email:vera@example.com")
	h := a.KeyedHash("erasure", email)
	if len(h) != 32 {
		t.Fatalf("hash of %d bytes, want 32", len(h))
	}
	if !bytes.Equal(h, a.KeyedHash("erasure", email)) {
		t.Error("the same value and purpose gave another hash")
	}
	for name, got := range map[string][]byte{
		"another value":   a.KeyedHash("erasure", []byte("email:paul@example.com")),
		"another purpose": a.KeyedHash("audit", email),
		"another key":     other.KeyedHash("erasure", email),
		// The purpose ends where the data starts: moving bytes across is another input.
		"purpose and data shifted": a.KeyedHash("erasureemail:", []byte("vera@example.com")),
	} {
		if bytes.Equal(got, h) {
			t.Errorf("%s gave the same hash", name)
		}
	}
	if bytes.Contains(h, []byte("vera")) {
		t.Error("the hash carries the value")
	}
}
