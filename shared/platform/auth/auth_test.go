package auth

import (
	"crypto/rsa"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	keyOnce       sync.Once
	key, otherKey *rsa.PrivateKey
)

func keys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		key, _ = NewKey()
		otherKey, _ = NewKey()
	})
	return key, otherKey
}

func TestAccountFromIssuer(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"https://acme.zendesk.com":  "acme",
		"https://ACME.zendesk.com/": "acme",
		"acme.zendesk.com":          "acme",
		"acme":                      "acme",
		"my-shop":                   "my-shop",
	}
	for iss, want := range cases {
		if got, err := AccountFromIssuer(iss); err != nil || got != want {
			t.Errorf("AccountFromIssuer(%q) = %q, %v; want %q", iss, got, err, want)
		}
	}
	for _, bad := range []string{"", "https://", "evil.com/acme", "a b", "https://acme.zendesk.com.evil.com", "-acme"} {
		if got, err := AccountFromIssuer(bad); err == nil {
			t.Errorf("AccountFromIssuer(%q) = %q, want an error", bad, got)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k, other := keys(t)
	v := NewVerifier(&k.PublicKey, "https://api.test", nil)
	good := Identity{Account: "acme", UserID: "361", Email: "ana@acme.test", Name: "Ana", Role: RoleAgent}
	sign := func(s Signer, id Identity) string {
		tok, err := s.Sign(id)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	signer := Signer{Key: k, Audience: "https://api.test"}

	t.Run("a good token gives the identity", func(t *testing.T) {
		id, err := v.Verify(sign(signer, good))
		if err != nil || id != good {
			t.Fatalf("got %+v, %v", id, err)
		}
	})

	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "acme", Subject: "1", Audience: jwt.ClaimStrings{"https://api.test"}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}, Role: RoleAdmin})
	// The classic confusion: an HMAC token keyed with the public key's bytes.
	pubPEM, _ := EncodePublicKey(&k.PublicKey)
	hsToken, _ := hs.SignedString(pubPEM)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "acme", Subject: "1", Audience: jwt.ClaimStrings{"https://api.test"}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}, Role: RoleAdmin})
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	noExpiry := func() string {
		c := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "acme", Subject: "1", Audience: jwt.ClaimStrings{"https://api.test"}}, Role: RoleAdmin}
		s, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		return s
	}()
	badRole := func() string {
		c := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "acme", Subject: "1", Audience: jwt.ClaimStrings{"https://api.test"}, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}, Role: "root"}
		s, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		return s
	}()
	expired := Signer{Key: k, Audience: "https://api.test", Now: func() time.Time { return time.Now().Add(-3 * time.Hour) }}
	future := Signer{Key: k, Audience: "https://api.test", Now: func() time.Time { return time.Now().Add(3 * time.Hour) }}

	refused := []struct{ name, token string }{
		{"an expired token", sign(expired, good)},
		{"a token issued in the future", sign(future, good)},
		{"a token signed by another key", sign(Signer{Key: other, Audience: "https://api.test"}, good)},
		{"a token for another audience", sign(Signer{Key: k, Audience: "https://other.test"}, good)},
		{"an HS256 token keyed with the public key", hsToken},
		{"an unsigned token", noneToken},
		{"a token without expiry", noExpiry},
		{"a token with an unknown role", badRole},
		{"garbage", "a.b.c"},
	}
	for _, c := range refused {
		t.Run(c.name+" is refused", func(t *testing.T) {
			if _, err := v.Verify(c.token); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}

	t.Run("a deployment limited to some accounts refuses others", func(t *testing.T) {
		limited := NewVerifier(&k.PublicKey, "https://api.test", []string{"globex"})
		if _, err := limited.Verify(sign(signer, good)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("err = %v", err)
		}
	})
}

// isSubdomain replaced the pattern ^[a-z0-9][a-z0-9-]{0,62}$; it must keep its answers.
func TestIsSubdomainKeepsThePatternsAnswers(t *testing.T) {
	t.Parallel()
	pattern := regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	cases := []string{"", "a", "acme", "acme-2", "-acme", "acme-", "Acme", "ac me", "ac.me", "é",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "0" + strings.Repeat("-", 62), "a\n"}
	alphabet := "az09-A.\x00"
	for n := 0; n < 2000; n++ { // every string of up to 3 characters over alphabet
		s, k := "", n
		for k > 0 {
			s += string(alphabet[k%len(alphabet)])
			k /= len(alphabet)
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		if got, want := isSubdomain(s), pattern.MatchString(s); got != want {
			t.Errorf("isSubdomain(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
