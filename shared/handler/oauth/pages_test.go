package oauth

import (
	"strings"
	"testing"
)

// The page shows values that come from Sell and from the query string (an error
// description, a user's name): every one must be escaped.
func TestThePageEscapesEveryValue(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	evil := `<script>alert("x")</script>&`
	if err := renderPage(&b, pageData{Title: evil, Message: evil, Code: evil}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script") {
		t.Fatalf("a value reached the page unescaped:\n%s", page)
	}
	if n := strings.Count(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;"); n != 4 {
		t.Errorf("escaped value appears %d times, want 4 (title, heading, message, code):\n%s", n, page)
	}
	var plain strings.Builder
	if err := renderPage(&plain, pageData{Title: "Sell is connected", Message: "You can close this window."}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "Code:") {
		t.Error("a page without a code shows a code line")
	}
}
