package httpx

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// LambdaBytes must never undercount what encoding/json (which aws-lambda-go uses
// for the response document) makes of a body, whatever the body holds.
func TestLambdaBytesBoundsTheEncodedBody(t *testing.T) {
	t.Parallel()
	samples := []string{"", "plain", `{"a":"<b>"}`, "\u2028\u2029", "tab\there\nnew", "é日本\U0001F600", "\xff\xfe broken", `\\\"`}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		samples = append(samples, string(b))
	}
	for _, s := range samples {
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := LambdaBytes([]byte(s)), len(enc)-2; got < want {
			t.Fatalf("LambdaBytes(%q) = %d, but encoding/json writes %d bytes", s, got, want)
		}
	}
	if got := LambdaBytes([]byte(`{"text":"\u003cb\u003e \"hi\""}`)); got != 41 {
		t.Fatalf("a typical body costs %d, want 41 (31 bytes, each of its 6 quotes and 4 backslashes twice)", got)
	}
}

func TestClipCutsOnARuneBoundaryAndMarksTheCut(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		max  int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"exactly10!", 10, "exactly10!", false},
		{"abcdefghijkl", 10, "abcdefg…", true},
		{"日本語日本語", 10, "日本…", true},
	}
	for _, c := range cases {
		got, cut := Clip(c.in, c.max)
		if got != c.want || cut != c.cut || len(got) > c.max {
			t.Errorf("Clip(%q, %d) = %q %v, want %q %v", c.in, c.max, got, cut, c.want, c.cut)
		}
	}
}
