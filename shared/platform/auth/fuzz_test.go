package auth

import (
	"crypto/rsa"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyJWT feeds the verifier arbitrary strings and one-byte changes, insertions
// and cuts of a valid token. Nothing may panic, and nothing but the exact token the
// key signed may verify: a token has one spelling, so whatever a client sends that
// differs from it by a byte is refused (no alternative encodings of the same bytes).
// `make fuzz` runs it for FUZZTIME; `make test` runs the seeds below.
func FuzzVerifyJWT(f *testing.F) {
	k, _ := keysFor(f)
	signer := Signer{Key: k, Audience: "https://api.test", TTL: 24 * time.Hour}
	valid, err := signer.Sign(Identity{Account: "acme", UserID: "361", Email: "ana@acme.test", Name: "Ana", Role: RoleAdmin})
	if err != nil {
		f.Fatal(err)
	}
	v := NewVerifier(&k.PublicKey, "https://api.test", nil)
	if _, err := v.Verify(valid); err != nil {
		f.Fatalf("the unchanged token does not verify: %v", err)
	}
	sigStart := uint(strings.LastIndexByte(valid, '.') + 1)
	f.Add("", uint(0), byte(0), "")
	f.Add(valid, uint(0), byte(0), "")                       // the token itself, unchanged
	f.Add("a.b.c", uint(len(valid)-1), spareBits(valid), "") // the same signature bytes, spelt differently
	f.Add("x", uint(len(valid)-1), byte(2), "")
	f.Add("", uint(len(valid)), byte(0), "\n") // a newline after the signature
	f.Add("", sigStart+10, byte(0), "\r\n")    // line breaks inside the signature
	f.Add("", sigStart, byte(0), "=")          // padding
	f.Add("", uint(3), byte('.'^'e'), "")      // a dot where the header was
	f.Add("..", sigStart-1, byte(0), " ")      // a space before the signature
	f.Add(strings.Repeat("A", 4096)+".e30.", uint(5), byte(0x80), "==")
	f.Add(`eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.`, uint(0), byte(0), "") // alg none, unsigned
	f.Fuzz(func(t *testing.T, junk string, pos uint, flip byte, insert string) {
		// Arbitrary input: it verifies only if it is the token itself.
		if _, err := v.Verify(junk); err == nil && junk != valid {
			t.Fatalf("a string that is not the signed token verified: %q", junk)
		}
		// One byte of the token changed (flip XORs it).
		if flip != 0 {
			b := []byte(valid)
			b[pos%uint(len(b))] ^= flip
			if _, err := v.Verify(string(b)); err == nil {
				t.Fatalf("the token with byte %d changed verified: %q", pos%uint(len(b)), b)
			}
		}
		// Text inserted anywhere (including at the end).
		if insert != "" {
			at := pos % uint(len(valid)+1)
			changed := valid[:at] + insert + valid[at:]
			if _, err := v.Verify(changed); err == nil {
				t.Fatalf("the token with %q inserted at %d verified", insert, at)
			}
		}
		// The token cut short.
		if cut := pos % uint(len(valid)); cut > 0 {
			if _, err := v.Verify(valid[:cut]); err == nil {
				t.Fatalf("the token cut to %d bytes verified", cut)
			}
		}
	})
}

// spareBits returns the XOR that changes only the unused low bits of the token's last
// base64url character (a 256-byte RS256 signature is 342 characters carrying 2052
// bits, 4 of them spare): a lenient decoder reads the same signature from both.
func spareBits(token string) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := token[len(token)-1]
	i := strings.IndexByte(alphabet, last)
	return last ^ alphabet[i^1]
}

// keysFor is keys for fuzz targets (keys takes a *testing.T).
func keysFor(testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	keyOnce.Do(func() {
		key, _ = NewKey()
		otherKey, _ = NewKey()
	})
	return key, otherKey
}
