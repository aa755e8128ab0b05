package oauth

import (
	"html"
	"io"
	"net/http"

	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// renderPage is the small page a person sees at the end of an OAuth round trip. It
// has no script (the CSP forbids scripts anyway) and escapes every value. It is
// written out by hand rather than with html/template on purpose: text/template's
// reflective method calls make the linker keep every exported method of every
// type, 3.4 MB more in the oauth bootstrap for a page of three values.
func renderPage(w io.Writer, d pageData) error {
	title, message := html.EscapeString(d.Title), html.EscapeString(d.Message)
	code := ""
	if d.Code != "" {
		code = "<p><small>Code: " + html.EscapeString(d.Code) + "</small></p>"
	}
	_, err := io.WriteString(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>`+title+` · sellchat</title></head>
<body><main role="main"><h1>`+title+`</h1><p>`+message+`</p>`+code+`</main></body></html>
`)
	return err
}

type pageData struct{ Title, Message, Code string }

// page writes a plain HTML page.
func (h *handler) page(w http.ResponseWriter, r *http.Request, status int, title, message string) error {
	return writePage(w, status, pageData{Title: title, Message: message})
}

// fail answers a failed callback: JSON for a client that asks for it, a page for a
// person. Either way nothing was stored.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, code, message string) error {
	httpx.LoggerFrom(r.Context()).Info("oauth callback refused", "code", code, "status", status)
	if wantsJSON(r) {
		return &httpx.Error{Status: status, Code: code, Message: message}
	}
	return writePage(w, status, pageData{Title: "Sell was not connected", Message: message, Code: code})
}

func writePage(w http.ResponseWriter, status int, d pageData) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'self' https://*.zendesk.com https://*.zopim.com")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	return renderPage(w, d)
}
