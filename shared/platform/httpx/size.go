package httpx

import "unicode/utf8"

// A Lambda behind API Gateway answers with one buffered JSON document of at most
// 6 MB ("Invocation payload (request and response): 6 MB each for request and
// response (synchronous)",
// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html); an HTTP
// API would pass 10 MB (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
// so Lambda's is the limit that binds. aws-lambda-go-api-proxy's httpadapter (v2)
// puts our body into that document as a JSON string (base64 only when the body is
// not valid UTF-8, which encoding/json never writes), so what counts is the body's
// size once escaped again: see LambdaBytes.

// MaxAnswerBytes bounds any answer whose size grows with data, counted as
// LambdaBytes: two thirds of Lambda's 6 MB, leaving room for the headers, the
// envelope and any misjudgement.
const MaxAnswerBytes = 4 << 20

// LambdaBytes is the size b takes inside the Lambda response document, where the
// adapter carries the body as a JSON string: '"' and '\' take two bytes, control
// characters, '<', '>', '&' and U+2028/U+2029 six (encoding/json's escapes), any
// other byte of valid UTF-8 one. Our bodies are JSON that already escapes the
// six-byte cases, so in practice only quotes and backslashes grow; counting all of
// them keeps the bound true whatever encoder writes the document. A byte of the
// original text thus costs at most 7 (e.g. '<' → \u003c → \\u003c).
func LambdaBytes(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '"' || c == '\\':
			n += 2
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 6
		case c == 0xE2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9):
			n += 6
			i += 3
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				n += 6 // replaced by \ufffd
			} else {
				n += size
			}
			i += size
			continue
		default:
			n++
		}
		i++
	}
	return n
}

// Clip cuts s to at most max bytes on a rune boundary, marking the cut with "…".
func Clip(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…", true
}
