package apps

import (
	"slices"
	"strconv"
	"strings"
)

// What Zendesk knows: its products, their locations, the framework versions it serves and
// the other fixed lists ZAS checks against. Each list names the ZAS file it mirrors.

// product is one host an app can live in, as the manifest's location object names it.
type product struct {
	name      string     // the key a manifest should use
	legacy    string     // the older key ZAS still accepts for the same product
	locations []location // the locations ZAS knows for it
}

// location is one place inside a product. v2Only marks the locations a framework v1 app
// may not use (ZAS location.rb: every location outside Support, plus Support's modal
// and ticket_editor).
type location struct {
	name   string
	v2Only bool
}

// products mirrors ZAS product.rb (PRODUCTS_AVAILABLE: name and legacy_name) and
// location.rb (LOCATIONS_AVAILABLE). The stored location.rb read for this
// (commit 5d0afe5) stops at Sell's email_editor; Sell's top_bar and visit_editor and
// Support's custom_object_record_sidebar come from the newer snapshot f3de3c7 described
// in docs/zendesk-apps.md, and Sell's top_bar is also a documented Sell app location
// (developer.zendesk.com/apps/docs/apps-sell-api/top_bar). product.rb's newest stored
// version adds "mobile" with no location of its own in location.rb, so any mobile
// location is unknown.
var products = []product{
	{name: "support", legacy: "zendesk", locations: []location{
		{"top_bar", false}, {"nav_bar", false}, {"ticket_sidebar", false},
		{"new_ticket_sidebar", false}, {"user_sidebar", false}, {"organization_sidebar", false},
		{"background", false}, {"modal", true}, {"ticket_editor", true}, {"system_top_bar", false},
		{"custom_object_record_sidebar", true},
	}},
	{name: "chat", legacy: "zopim", locations: []location{
		{"chat_sidebar", true}, {"background", true},
	}},
	{name: "standalone_chat", legacy: "lotus_box", locations: []location{
		{"nav_bar", false}, {"system_top_bar", false},
	}},
	{name: "sell", legacy: "sell", locations: []location{
		{"deal_card", true}, {"person_card", true}, {"company_card", true}, {"lead_card", true},
		{"background", true}, {"modal", true}, {"dashboard", true}, {"note_editor", true},
		{"call_log_editor", true}, {"email_editor", true}, {"top_bar", true}, {"visit_editor", true},
	}},
	{name: "mobile", legacy: "mobile"},
}

// productNamed finds a product by its name or its legacy name.
func productNamed(key string) (product, bool) {
	for _, p := range products {
		if key == p.name || key == p.legacy {
			return p, true
		}
	}
	return product{}, false
}

// find returns the product's location of that name.
func (p product) find(name string) (location, bool) {
	for _, l := range p.locations {
		if l.name == name {
			return l, true
		}
	}
	return location{}, false
}

// anyProductHasLocation is what ZAS's noTemplate check asks (Location.find_by(name:),
// whatever the product).
func anyProductHasLocation(name string) bool {
	return slices.ContainsFunc(products, func(p product) bool {
		_, ok := p.find(name)
		return ok
	})
}

// servedFrameworkVersions mirrors ZAS app_version.rb TO_BE_SERVED (deprecated 0.5,
// sunsetting 1.0, current 2.0, no future version), which is what
// validations/manifest.rb's invalid_version_error accepts. Only 2.0 is VALID_FOR_CREATE.
var servedFrameworkVersions = []string{"0.5", "1.0", "2.0"}

// iframeOnly mirrors ZAS manifest.rb iframe_only?: framework version 2 or later, where
// every location must be a URL.
func iframeOnly(frameworkVersion string) bool {
	major, _, _ := strings.Cut(frameworkVersion, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2
}

// parameterTypes mirrors ZAS manifest/parameter.rb TYPES. "password" is still listed
// there but refused by a newer rule (see checkParameterTypes).
var parameterTypes = []string{"text", "password", "checkbox", "url", "number", "multiline", "hidden", "oauth"}

// secureParameterScopes are the scopes a secure parameter may declare: SECURE_PARAM_SCOPES
// of ZAS validations/manifest.rb in snapshot f3de3c7 (not in the stored versions read
// here, whose translations file does carry the three scope errors mirrored below).
var secureParameterScopes = []string{
	"header", "body", "url", "jwt_secret_key", "jwt_claim", "basic_auth_username", "basic_auth_password",
}

// locationOptionKeys mirrors ZAS manifest/location_options.rb RUBY_TO_JSON (plus
// objectTypes, read for custom_object_record_sidebar in newer versions). ZAS reads only
// these keys and ignores the rest, so another key is most likely a typo.
var locationOptionKeys = []string{"url", "signed", "autoLoad", "autoHide", "flexible", "size", "legacy", "objectTypes"}

// allowedExperiments mirrors ZAS validations/marketplace.rb WHITELISTED_EXPERIMENTS.
var allowedExperiments = []string{"hashParams", "newCssCompiler"}

// blockedFileTypes mirrors ZAS validations/mime.rb UNSUPPORTED_MIME_TYPES, matched
// against a file's extension and its sniffed content subtype.
var blockedFileTypes = []string{
	"vnd.rar", "rar", "zip", "gzip", "pdf", "doc", "docx", "avi", "bin", "bz", "bz2", "csh", "sh",
	"jar", "mp3", "mpeg", "odt", "pptx", "ppt", "xls", "xlsx", "7z",
}

// securableWords mirrors ZAS validations/secure_settings.rb SECURABLE_KEYWORDS: a text
// or password parameter whose name holds one of them should be secure.
var securableWords = []string{"token", "key", "pwd", "password"}
