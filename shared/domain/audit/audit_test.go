package audit

import "testing"

func TestDiffNamesOnlyWhatChangedAndSkipsWhatItIsTold(t *testing.T) {
	type s struct {
		A      string   `json:"a"`
		B      []int    `json:"b"`
		Secret string   `json:"secret"`
		C      *float64 `json:"c,omitempty"`
	}
	one := 1.0
	d := Diff(s{A: "x", B: []int{1}, Secret: "p1"}, s{A: "y", B: []int{1}, Secret: "p2", C: &one}, "secret")
	if len(d) != 2 || d["a"].From != "x" || d["a"].To != "y" || d["c"].From != nil || d["c"].To != 1.0 {
		t.Fatalf("diff = %#v", d)
	}
	if _, ok := d["secret"]; ok {
		t.Fatal("a skipped field is in the diff")
	}
	if d := Diff(s{A: "x"}, s{A: "x"}); len(d) != 0 {
		t.Fatalf("no change, diff = %#v", d)
	}
}
