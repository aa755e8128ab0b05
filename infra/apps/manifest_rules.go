package apps

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// The manifest rules, in the order validations/manifest.rb collate_manifest_errors runs
// them. Every rule here is from that file unless its comment names another.

func (c *checker) checkManifest(m *manifest) {
	c.checkRequiredKeys(m)
	c.checkTypes(m)
	c.checkOAuth(m)
	c.checkDefaultLocale(m)
	c.checkURLs(m)
	if m.marketingOnly() {
		c.checkMarketingOnly(m)
	} else {
		c.checkParameters(m)
	}
	if m.requirementsOnly() || m.marketingOnly() {
		c.banLocationAndVersion(m)
	} else {
		c.checkLocations(m)
		c.checkFrameworkVersion(m)
	}
	c.banNoTemplate(m)
}

// checkRequiredKeys: REQUIRED_MANIFEST_FIELDS (author, defaultLocale) must not be null.
func (c *checker) checkRequiredKeys(m *manifest) {
	var missing []string
	for _, key := range []string{"author", "defaultLocale"} {
		if m.raw[key] == nil {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		c.fail("manifest_keys.missing", zasManifest, manifestFile, "missing required field(s): %s", strings.Join(missing, ", "))
	}
}

// checkTypes mirrors type_checks: the flags are booleans, the named fields strings,
// experiments an object, domainWhitelist an array of strings, parameters an array.
func (c *checker) checkTypes(m *manifest) {
	c.checkBooleans(m)
	c.checkStrings(m)
	c.checkNoTemplateFormat(m)
	if v, ok := m.raw["experiments"]; ok && v != nil {
		if _, isObj := v.(map[string]any); !isObj {
			c.fail("unacceptable_hash", zasManifest, manifestFile, "experiments must be an object, got %s", jsonType(v))
		}
	}
	if !stringArrayOrNull(m.raw["domainWhitelist"]) {
		c.fail("unacceptable_array_of_strings", zasManifest, manifestFile, "domainWhitelist must be an array of strings")
	}
	if !m.paramsOK {
		c.fail("unacceptable_array", zasManifest, manifestFile, "parameters must be an array, got %s", jsonType(m.raw["parameters"]))
	}
}

// checkBooleans mirrors boolean_error. ZAS defaults a missing or null flag to false
// (`||= false`), except private, which it reads with fetch('private', true): a null
// private is an error.
func (c *checker) checkBooleans(m *manifest) {
	for _, key := range []string{"requirementsOnly", "marketingOnly", "singleInstall", "signedUrls", "private"} {
		v, ok := m.raw[key]
		if !ok || (v == nil && key != "private") {
			continue
		}
		if _, isBool := v.(bool); !isBool {
			c.fail("unacceptable_boolean", zasManifest, manifestFile, "%s must be a boolean, got %s", key, jsonType(v))
		}
	}
}

// checkStrings mirrors string_error, author's fields included.
func (c *checker) checkStrings(m *manifest) {
	for _, key := range []string{"defaultLocale", "version", "frameworkVersion", "remoteInstallationURL", "termsConditionsURL", "gaID"} {
		c.mustBeString(m.raw[key], key)
	}
	author, _ := m.raw["author"].(map[string]any)
	for _, key := range []string{"name", "email", "url"} {
		if author != nil {
			c.mustBeString(author[key], "author "+key)
		}
	}
}

func (c *checker) mustBeString(v any, label string) {
	if _, ok := v.(string); !ok && v != nil {
		c.fail("unacceptable_string", zasManifest, manifestFile, "%s must be a string, got %s", label, jsonType(v))
	}
}

// checkNoTemplateFormat mirrors no_template_format_error: true, false, or an array of
// known location names.
func (c *checker) checkNoTemplateFormat(m *manifest) {
	v := m.raw["noTemplate"]
	if v == nil {
		return
	}
	if _, ok := v.(bool); ok {
		return
	}
	list, ok := v.([]any)
	if ok && !slices.ContainsFunc(list, func(item any) bool {
		name, _ := item.(string)
		return !anyProductHasLocation(name)
	}) {
		return
	}
	c.fail("invalid_no_template", zasManifest, manifestFile, "noTemplate must be true, false, or an array of location names")
}

func stringArrayOrNull(v any) bool {
	if v == nil {
		return true
	}
	list, ok := v.([]any)
	return ok && !slices.ContainsFunc(list, func(item any) bool {
		_, isString := item.(string)
		return !isString
	})
}

// checkOAuth mirrors oauth_error: an oauth block needs its four fields, and an
// oauth-type parameter to hold the token.
func (c *checker) checkOAuth(m *manifest) {
	v := m.raw["oauth"]
	if v == nil {
		return
	}
	oauth, _ := v.(map[string]any)
	var missing []string
	for _, key := range []string{"client_id", "client_secret", "authorize_uri", "access_token_uri"} {
		if s, _ := oauth[key].(string); s == "" {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		c.fail("oauth_keys.missing", zasManifest, manifestFile, "oauth is missing %s", strings.Join(missing, ", "))
	}
	if !slices.ContainsFunc(m.parameters, func(p parameter) bool { return p.typ == "oauth" }) {
		c.fail("oauth_parameter_required", zasManifest, manifestFile, "an oauth block needs a parameter of type oauth")
	}
}

// validLocale mirrors validations/translations.rb VALID_LOCALE, which the manifest's
// defaultLocale is checked against too.
var validLocale = regexp.MustCompile(`^[a-z]{2}(-\w{2,3})?$`)

// checkDefaultLocale mirrors default_locale_error: a valid locale with its translation
// file in the package.
func (c *checker) checkDefaultLocale(m *manifest) {
	locale, ok := m.raw["defaultLocale"].(string)
	if !ok {
		return
	}
	switch {
	case !validLocale.MatchString(locale):
		c.fail("invalid_default_locale", zasManifest, manifestFile, "%q is not a valid default locale", locale)
	case !c.hasFile("translations/" + locale + ".json"):
		c.fail("missing_translation_file", zasManifest, "translations/"+locale+".json", "the default locale %q has no translation file", locale)
	}
}

// httpURL is the form validate_url wants of termsConditionsURL and author.url.
var httpURL = regexp.MustCompile(`^https?://`)

// checkURLs mirrors validate_urls.
func (c *checker) checkURLs(m *manifest) {
	if s, ok := m.raw["termsConditionsURL"].(string); ok && !httpURL.MatchString(s) {
		c.fail("invalid_url", zasManifest, manifestFile, "termsConditionsURL must be an http(s) URL, got %q", s)
	}
	author, _ := m.raw["author"].(map[string]any)
	if s, ok := author["url"].(string); ok && !httpURL.MatchString(s) {
		c.fail("invalid_url", zasManifest, manifestFile, "author url must be an http(s) URL, got %q", s)
	}
}

// checkMarketingOnly mirrors marketing_only_errors: no parameters, and not private.
func (c *checker) checkMarketingOnly(m *manifest) {
	if len(m.parameters) > 0 {
		c.fail("no_parameters_required", zasManifest, manifestFile, "a marketing-only app takes no parameters")
	}
	if m.private() {
		c.fail("marketing_only_app_cant_be_private", zasManifest, manifestFile, "a marketing-only app must not be private")
	}
}

// banLocationAndVersion mirrors ban_location and ban_framework_version for
// requirements-only and marketing-only apps.
func (c *checker) banLocationAndVersion(m *manifest) {
	if len(m.locations) > 0 {
		c.fail("no_location_required", zasManifest, manifestFile, "a requirements-only or marketing-only app has no locations")
	}
	if m.raw["frameworkVersion"] != nil {
		c.fail("no_framework_version_required", zasManifest, manifestFile, "a requirements-only or marketing-only app has no frameworkVersion")
	}
}

// checkFrameworkVersion mirrors missing_framework_version and invalid_version_error.
func (c *checker) checkFrameworkVersion(m *manifest) {
	v := m.raw["frameworkVersion"]
	if v == nil {
		c.fail("manifest_keys.missing", zasManifest, manifestFile, "missing required field: frameworkVersion")
		return
	}
	if s, _ := v.(string); !slices.Contains(servedFrameworkVersions, s) {
		c.fail("invalid_version", zasManifest, manifestFile, "frameworkVersion %v is not one Zendesk serves (%s)", v, strings.Join(servedFrameworkVersions, ", "))
	}
}

// banNoTemplate mirrors ban_no_template: framework v2 apps set autoLoad/autoHide per
// location instead.
func (c *checker) banNoTemplate(m *manifest) {
	if !iframeOnly(m.frameworkVersion()) {
		return
	}
	v := m.raw["noTemplate"]
	if list, ok := v.([]any); truthy(v) && (!ok || len(list) > 0) {
		c.fail("no_template_deprecated_in_v2", zasManifest, manifestFile, "noTemplate cannot be used with framework version 2")
	}
}

// checkLocations mirrors validate_location: at least one location, each known for its
// product, with a URL in an accepted form, and URLs or v1 names as the framework wants.
func (c *checker) checkLocations(m *manifest) {
	if len(m.locations) == 0 {
		c.fail("manifest_keys.missing", zasManifest, manifestFile, "missing required field: location")
	}
	for _, host := range m.badHosts {
		c.fail("invalid_location", zasManifest, manifestFile, "location.%s must be an object of locations", host)
	}
	for _, p := range m.locations {
		c.checkPlacement(p)
	}
	c.checkKnownLocations(m)
	c.checkV1Locations(m)
	c.checkFrameworkMatch(m)
}

// checkPlacement mirrors the per-location part of invalid_location_error, plus a
// warning for option keys ZAS does not read (manifest/location_options.rb).
func (c *checker) checkPlacement(p placement) {
	where := "location." + p.product + "." + p.name
	if u, ok := p.url(); ok && u != "" {
		c.checkLocationURL(where, u)
	} else if p.autoLoad() {
		c.fail("blank_location_uri", zasManifest, manifestFile, "%s has no URL", where)
	}
	if v, ok := p.options["flexible"]; ok && v != nil {
		if _, isBool := v.(bool); !isBool {
			c.fail("invalid_location_flexible_type", zasManifest, manifestFile, "%s: flexible must be a boolean, got %s", where, jsonType(v))
		}
	}
	for key := range p.options {
		if !slices.Contains(locationOptionKeys, key) {
			c.warn("unknown_location_option", zasLocationOptions, manifestFile,
				"%s: ZAS ignores the option %q (it reads only %s)", where, key, strings.Join(locationOptionKeys, ", "))
		}
	}
}

// uriUnsafe are characters Ruby's URI.parse refuses (RFC 3986) though Go's url.Parse
// lets some of them through.
const uriUnsafe = " <>\"{}|\\^`"

// checkLocationURL mirrors invalid_location_uri_error: the v1 stub and any URL with a
// {{setting. placeholder are left alone; otherwise an absolute URL must be https (or
// point at localhost) and a relative one must be a file under assets/ in the package.
func (c *checker) checkLocationURL(where, raw string) {
	if raw == legacyURL || strings.Contains(raw, "{{setting.") {
		return
	}
	u, err := url.Parse(raw)
	ok := err == nil && !strings.ContainsAny(raw, uriUnsafe)
	if ok && u.Scheme != "" {
		ok = u.Scheme == "https" || u.Hostname() == "localhost"
	} else if ok {
		ok = strings.HasPrefix(u.Path, "assets/") && c.hasFile(u.Path)
	}
	if !ok {
		c.fail("invalid_location_uri", zasManifest, manifestFile,
			"%s: %q is not an https URL, a localhost URL, or a file under assets/", where, raw)
	}
}

// checkKnownLocations mirrors the unknown_locations and unknown_hosts part of
// invalid_location_error.
func (c *checker) checkKnownLocations(m *manifest) {
	for _, p := range m.locations {
		if _, ok := p.known(); !ok {
			c.fail("invalid_location", zasManifest, manifestFile, "%s is not a location in %s", p.name, p.product)
		}
	}
	for _, host := range m.usedHosts {
		if _, ok := productNamed(host); !ok {
			c.fail("invalid_host", zasManifest, manifestFile, "%s is not a product apps can live in", host)
		}
	}
}

// checkV1Locations mirrors invalid_v1_location: a framework v1 app cannot use the
// locations that exist only in v2.
func (c *checker) checkV1Locations(m *manifest) {
	fv := m.frameworkVersion()
	if fv == "" || iframeOnly(fv) {
		return
	}
	for _, p := range m.locations {
		if l, ok := p.known(); ok && l.v2Only {
			c.fail("invalid_v1_location", zasManifest, manifestFile, "%s is not available in framework v1", p.name)
		}
	}
}

// checkFrameworkMatch mirrors location_framework_mismatch: v2 locations are URLs, v1
// locations are bare names.
func (c *checker) checkFrameworkMatch(m *manifest) {
	var legacy, framed int
	for _, p := range m.locations {
		if p.legacy() {
			legacy++
		} else {
			framed++
		}
	}
	switch {
	case iframeOnly(m.frameworkVersion()) && legacy > 0:
		c.fail("locations_must_be_urls", zasManifest, manifestFile, "framework version 2 locations must be URLs")
	case !iframeOnly(m.frameworkVersion()) && framed > 0:
		c.fail("locations_cant_be_urls", zasManifest, manifestFile, "framework version 1 locations must not be URLs")
	}
}
