package apps

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The packages sellchat ships, by folder.
var shipped = []string{"chat-app-in-sell", "sell-app-in-chat"}

func TestTheShippedPackagesPassEveryCheck(t *testing.T) {
	t.Parallel()
	names, err := Packages(".")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, shipped) {
		t.Fatalf("packages = %v, want %v", names, shipped)
	}
	for _, name := range names {
		if problems := Validate(name); len(problems) > 0 {
			t.Errorf("%s:\n%s", name, joinProblems(problems))
		}
	}
}

func TestTheShippedPackagesLoadSellchatsPagesSigned(t *testing.T) {
	t.Parallel()
	const backend = "{{setting.backend_url}}"
	want := map[string]map[string]string{
		"sell-app-in-chat": {
			"chat.chat_sidebar":      backend + "/apps/panel/",
			"support.ticket_sidebar": backend + "/apps/panel/",
		},
		"chat-app-in-sell": {
			"sell.lead_card":    backend + "/apps/feed/",
			"sell.person_card":  backend + "/apps/feed/",
			"sell.deal_card":    backend + "/apps/feed/",
			"sell.company_card": backend + "/apps/feed/",
			"sell.top_bar":      backend + "/settings/",
		},
	}
	for name, locations := range want {
		m := readManifest(t, filepath.Join(name, manifestFile))
		got := map[string]string{}
		for _, p := range m.locations {
			u, _ := p.url()
			got[p.product+"."+p.name] = u
			if p.options["signed"] != true {
				t.Errorf("%s: %s.%s is not signed", name, p.product, p.name)
			}
		}
		if !maps.Equal(got, locations) {
			t.Errorf("%s: locations = %v, want %v", name, got, locations)
		}
		if m.raw["signedUrls"] != true || m.raw["frameworkVersion"] != "2.0" || m.raw["defaultLocale"] != "en" {
			t.Errorf("%s: signedUrls/frameworkVersion/defaultLocale = %v/%v/%v", name, m.raw["signedUrls"], m.raw["frameworkVersion"], m.raw["defaultLocale"])
		}
		if len(m.parameters) != 1 || m.parameters[0].name != "backend_url" || m.parameters[0].typ != "url" || m.parameters[0].required() != true {
			t.Errorf("%s: parameters = %v, want only backend_url, a required url", name, m.raw["parameters"])
		}
	}
}

func TestTheLogosAreTheSizesZendeskAsksFor(t *testing.T) {
	t.Parallel()
	for _, name := range shipped {
		for _, logo := range logos {
			f, err := os.Open(filepath.Join(name, "assets", logo.name))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.Width != logo.size || cfg.Height != logo.size {
				t.Errorf("%s/assets/%s: %dx%d (%v), want %dx%d", name, logo.name, cfg.Width, cfg.Height, err, logo.size, logo.size)
			}
		}
	}
}

// fixture is a small valid package (a Chat sidebar at a {{setting.}} URL) that each
// case of TestEachRuleFires breaks in one way.
type fixture struct {
	manifest map[string]any
	en       map[string]any
	files    map[string][]byte // written after the rest; a nil value removes the file
	after    func(t *testing.T, dir string)
}

func newFixture() *fixture {
	return &fixture{
		manifest: map[string]any{
			"name":             "Fixture",
			"author":           map[string]any{"name": "sellchat", "email": "dev@example.com", "url": "https://example.com"},
			"defaultLocale":    "en",
			"private":          true,
			"signedUrls":       true,
			"frameworkVersion": "2.0",
			"version":          "1.0.0",
			"location": map[string]any{
				"chat": map[string]any{"chat_sidebar": map[string]any{"url": "{{setting.backend_url}}/apps/panel/", "signed": true}},
			},
			"parameters": []any{map[string]any{"name": "backend_url", "type": "url", "required": true}},
		},
		en: map[string]any{"app": map[string]any{
			"name":                      "Fixture",
			"short_description":         "short",
			"long_description":          "long",
			"installation_instructions": "install",
			"parameters":                map[string]any{"backend_url": map[string]any{"label": "Backend URL"}},
		}},
		files: map[string][]byte{},
	}
}

func (f *fixture) write(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	put(t, dir, manifestFile, mustJSON(t, f.manifest))
	put(t, dir, "translations/en.json", mustJSON(t, f.en))
	for _, logo := range logos {
		data, err := os.ReadFile(filepath.Join("chat-app-in-sell", "assets", logo.name))
		if err != nil {
			t.Fatal(err)
		}
		put(t, dir, "assets/"+logo.name, data)
	}
	for rel, data := range f.files {
		if data == nil {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		put(t, dir, rel, data)
	}
	if f.after != nil {
		f.after(t, dir)
	}
	return dir
}

// The helpers below reach into the fixture's manifest.
func (f *fixture) chatSidebar() map[string]any {
	return f.manifest["location"].(map[string]any)["chat"].(map[string]any)["chat_sidebar"].(map[string]any)
}

func (f *fixture) param() map[string]any {
	return f.manifest["parameters"].([]any)[0].(map[string]any)
}

func (f *fixture) addParam(p map[string]any) {
	f.manifest["parameters"] = append(f.manifest["parameters"].([]any), p)
}

func (f *fixture) app() map[string]any { return f.en["app"].(map[string]any) }

func (f *fixture) addSupport() {
	f.manifest["location"].(map[string]any)["support"] = map[string]any{"ticket_sidebar": "https://example.com/panel"}
}

func TestTheFixtureIsValid(t *testing.T) {
	t.Parallel()
	if problems := Validate(newFixture().write(t)); len(problems) > 0 {
		t.Fatalf("the fixture should be clean:\n%s", joinProblems(problems))
	}
}

func TestEachRuleFires(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		breakIt func(f *fixture)
		rule    string
		warning bool
	}{
		// Finding and reading the manifest.
		{"a package without manifest.json is refused",
			func(f *fixture) { f.files[manifestFile] = nil }, "missing_manifest", false},
		{"a manifest one folder down is reported as nested",
			func(f *fixture) { f.files["app/manifest.json"] = []byte("{}"); f.files[manifestFile] = nil }, "nested_manifest", false},
		{"a manifest that is not JSON is refused",
			func(f *fixture) { f.files[manifestFile] = []byte("{author: 1}") }, "manifest_not_json", false},
		{"a key given twice in the manifest is refused",
			func(f *fixture) {
				f.files[manifestFile] = []byte(`{"version":"1","version":"2"}`)
			}, "duplicate_manifest_keys", false},

		// Required keys and versions.
		{"a manifest without an author is refused",
			func(f *fixture) { delete(f.manifest, "author") }, "manifest_keys.missing", false},
		{"a manifest without a default locale is refused",
			func(f *fixture) { delete(f.manifest, "defaultLocale") }, "manifest_keys.missing", false},
		{"a manifest without a framework version is refused",
			func(f *fixture) { delete(f.manifest, "frameworkVersion") }, "manifest_keys.missing", false},
		{"a framework version Zendesk does not serve is refused",
			func(f *fixture) { f.manifest["frameworkVersion"] = "3.0" }, "invalid_version", false},
		{"a manifest without a location is refused",
			func(f *fixture) { delete(f.manifest, "location") }, "manifest_keys.missing", false},

		// Locations.
		{"a location its product does not have is refused",
			func(f *fixture) {
				f.manifest["location"] = map[string]any{"sell": map[string]any{"contact_card": "https://example.com/x"}}
			}, "invalid_location", false},
		{"a product Zendesk does not have is refused",
			func(f *fixture) { f.manifest["location"].(map[string]any)["guide"] = map[string]any{} }, "invalid_host", false},
		{"a product whose value is not an object of locations is refused",
			func(f *fixture) { f.manifest["location"].(map[string]any)["support"] = "ticket_sidebar" }, "invalid_location", false},
		{"a location URL over plain http is refused",
			func(f *fixture) { f.chatSidebar()["url"] = "http://example.com/panel" }, "invalid_location_uri", false},
		{"a location URL that does not parse is refused",
			func(f *fixture) { f.chatSidebar()["url"] = "https://exa mple.com/" }, "invalid_location_uri", false},
		{"a relative location URL outside assets/ is refused",
			func(f *fixture) { f.chatSidebar()["url"] = "panel/index.html" }, "invalid_location_uri", false},
		{"an assets/ location URL must name a file in the package",
			func(f *fixture) { f.chatSidebar()["url"] = "assets/index.html" }, "invalid_location_uri", false},
		{"a location with no URL is refused",
			func(f *fixture) { delete(f.chatSidebar(), "url") }, "blank_location_uri", false},
		{"a location value that is neither a URL nor an object is refused",
			func(f *fixture) {
				f.manifest["location"].(map[string]any)["chat"] = map[string]any{"chat_sidebar": 42.0}
			}, "blank_location_uri", false},
		{"a flexible that is not a boolean is refused",
			func(f *fixture) { f.chatSidebar()["flexible"] = "yes" }, "invalid_location_flexible_type", false},
		{"a location option ZAS does not read is flagged as a likely typo",
			func(f *fixture) { f.chatSidebar()["singed"] = true }, "unknown_location_option", true},
		{"framework v2 locations given as bare names are refused",
			func(f *fixture) { f.manifest["location"] = []any{"ticket_sidebar"} }, "locations_must_be_urls", false},
		{"a framework v1 app cannot use a Chat location",
			func(f *fixture) { f.manifest["frameworkVersion"] = "1.0" }, "invalid_v1_location", false},
		{"a framework v1 app cannot give URLs",
			func(f *fixture) { f.manifest["frameworkVersion"] = "1.0" }, "locations_cant_be_urls", false},
		{"noTemplate is refused in framework v2",
			func(f *fixture) { f.manifest["noTemplate"] = true }, "no_template_deprecated_in_v2", false},
		{"noTemplate naming an unknown location is refused",
			func(f *fixture) { f.manifest["noTemplate"] = []any{"nowhere"} }, "invalid_no_template", false},
		{"a setting placeholder must name a declared parameter",
			func(f *fixture) { f.chatSidebar()["url"] = "{{setting.backend}}/apps/panel/" }, "undeclared_setting", false},

		// Types of the top-level fields.
		{"a flag that is not a boolean is refused",
			func(f *fixture) { f.manifest["signedUrls"] = "yes" }, "unacceptable_boolean", false},
		{"a null private is refused, as ZAS reads private with a default of true",
			func(f *fixture) { f.manifest["private"] = nil }, "unacceptable_boolean", false},
		{"a version that is not a string is refused",
			func(f *fixture) { f.manifest["version"] = 1.0 }, "unacceptable_string", false},
		{"an author email that is not a string is refused",
			func(f *fixture) { f.manifest["author"].(map[string]any)["email"] = false }, "unacceptable_string", false},
		{"an author url that is not http(s) is refused",
			func(f *fixture) { f.manifest["author"].(map[string]any)["url"] = "example.com" }, "invalid_url", false},
		{"a terms and conditions URL that is not http(s) is refused",
			func(f *fixture) { f.manifest["termsConditionsURL"] = "ftp://example.com/terms" }, "invalid_url", false},
		{"experiments that are not an object are refused",
			func(f *fixture) { f.manifest["experiments"] = []any{"hashParams"} }, "unacceptable_hash", false},
		{"an experiment Zendesk does not allow is refused",
			func(f *fixture) { f.manifest["experiments"] = map[string]any{"turbo": true} }, "invalid_experiment", false},
		{"a domainWhitelist that is not an array of strings is refused",
			func(f *fixture) { f.manifest["domainWhitelist"] = []any{"example.com", 3.0} }, "unacceptable_array_of_strings", false},

		// Parameters.
		{"parameters that are not an array are refused",
			func(f *fixture) { f.manifest["parameters"] = map[string]any{} }, "unacceptable_array", false},
		{"a parameter that is not an object is refused",
			func(f *fixture) { f.manifest["parameters"] = []any{"backend_url"} }, "parameters_not_an_array", false},
		{"two parameters with one name are refused",
			func(f *fixture) { f.addParam(map[string]any{"name": "backend_url"}) }, "duplicate_parameters", false},
		{"a required that is not a boolean is refused",
			func(f *fixture) { f.param()["required"] = "yes" }, "unacceptable_boolean", false},
		{"a secure that is not a boolean is refused",
			func(f *fixture) { f.param()["secure"] = 1.0 }, "unacceptable_boolean", false},
		{"a hidden parameter cannot be required",
			func(f *fixture) { f.addParam(map[string]any{"name": "h", "type": "hidden", "required": true}) }, "invalid_hidden_parameter", false},
		{"an unknown parameter type is refused",
			func(f *fixture) { f.param()["type"] = "mtls" }, "invalid_type_parameter", false},
		{"the password parameter type is refused",
			func(f *fixture) { f.addParam(map[string]any{"name": "pw", "type": "password", "secure": true}) }, "password_parameter_type_deprecated", false},
		{"two oauth parameters are refused",
			func(f *fixture) {
				f.addParam(map[string]any{"name": "a", "type": "oauth"})
				f.addParam(map[string]any{"name": "b", "type": "oauth"})
			}, "too_many_oauth_parameters", false},
		{"an oauth parameter cannot be secure",
			func(f *fixture) { f.addParam(map[string]any{"name": "a", "type": "oauth", "secure": true}) }, "oauth_parameter_cannot_be_secure", false},
		{"a parameter called name is refused",
			func(f *fixture) { f.addParam(map[string]any{"name": "name"}) }, "name_as_parameter_name", false},
		{"scopes on a parameter that is not secure are refused",
			func(f *fixture) { f.param()["scopes"] = []any{"header"} }, "scope_requires_secure_parameter", false},
		{"an empty list of scopes is refused",
			func(f *fixture) { f.addParam(map[string]any{"name": "s", "secure": true, "scopes": []any{}}) }, "scopes_cannot_be_empty", false},
		{"a scope Zendesk does not know is refused",
			func(f *fixture) { f.addParam(map[string]any{"name": "s", "secure": true, "scopes": []any{"cookie"}}) }, "invalid_secure_parameter_scopes", false},
		{"an oauth block needs its four fields",
			func(f *fixture) {
				f.manifest["oauth"] = map[string]any{"client_id": "x"}
				f.addParam(map[string]any{"name": "token", "type": "oauth"})
			}, "oauth_keys.missing", false},
		{"an oauth block needs an oauth parameter",
			func(f *fixture) {
				f.manifest["oauth"] = map[string]any{"client_id": "a", "client_secret": "b", "authorize_uri": "c", "access_token_uri": "d"}
			}, "oauth_parameter_required", false},

		// Secure settings (warnings).
		{"a token-like text parameter that is not secure is flagged",
			func(f *fixture) { f.addParam(map[string]any{"name": "api_token"}) }, "insecure_token_parameter_in_manifest", true},
		{"a default on a secure parameter is flagged",
			func(f *fixture) {
				f.addParam(map[string]any{"name": "s", "secure": true, "scopes": []any{"header"}, "default": "x"})
			}, "default_secure_or_hidden_parameter_in_manifest", true},
		{"a secure parameter without scopes is flagged",
			func(f *fixture) { f.addParam(map[string]any{"name": "s", "secure": true}) }, "secure_parameters_with_no_scopes_in_manifest", true},

		// Marketing-only and requirements-only apps.
		{"a marketing-only app takes no parameters",
			func(f *fixture) {
				f.manifest["marketingOnly"], f.manifest["private"] = true, false
			}, "no_parameters_required", false},
		{"a marketing-only app is not private",
			func(f *fixture) { f.manifest["marketingOnly"] = true }, "marketing_only_app_cant_be_private", false},
		{"a requirements-only app has no locations",
			func(f *fixture) { f.manifest["requirementsOnly"] = true }, "no_location_required", false},
		{"a requirements-only app has no framework version",
			func(f *fixture) { f.manifest["requirementsOnly"] = true }, "no_framework_version_required", false},
		{"a requirements-only app needs requirements.json",
			func(f *fixture) {
				f.manifest["requirementsOnly"] = true
				delete(f.manifest, "location")
				delete(f.manifest, "frameworkVersion")
			}, "missing_requirements", false},
		{"a Chat-only app cannot have requirements",
			func(f *fixture) { f.files[requirementsFile] = []byte(`{}`) }, "requirements_not_supported", false},
		{"a requirement type Zendesk does not know is refused",
			func(f *fixture) {
				f.addSupport()
				f.files[requirementsFile] = []byte(`{"gadgets":{"g":{"title":"G"}}}`)
			}, "invalid_requirements_types", false},
		{"a webhook requirement needs its five fields",
			func(f *fixture) {
				f.addSupport()
				f.files[requirementsFile] = []byte(`{"webhooks":{"solved":{"name":"n","status":"active","endpoint":"https://x.example/h","http_method":"POST"}}}`)
			}, "missing_required_fields", false},
		{"a trigger requirement needs a title",
			func(f *fixture) {
				f.addSupport()
				f.files[requirementsFile] = []byte(`{"triggers":{"t":{"conditions":{"all":[]},"actions":[]}}}`)
			}, "missing_required_fields", false},
		{"an HTTP target requirement is refused",
			func(f *fixture) {
				f.addSupport()
				f.files[requirementsFile] = []byte(`{"targets":{"t":{"title":"T","type":"http_target"}}}`)
			}, "invalid_requirements_types", false},
		{"two channel integrations are refused",
			func(f *fixture) {
				f.addSupport()
				f.files[requirementsFile] = []byte(`{"channel_integrations":{"a":{"manifest_url":"https://a"},"b":{"manifest_url":"https://b"}}}`)
			}, "multiple_channel_integrations", false},
		{"requirements.json must be JSON",
			func(f *fixture) { f.addSupport(); f.files[requirementsFile] = []byte(`{targets:`) }, "requirements_not_json", false},
		{"a key given twice in requirements.json is refused",
			func(f *fixture) {
				f.addSupport()
				f.files[requirementsFile] = []byte(`{"targets":{},"targets":{}}`)
			}, "duplicate_requirements", false},

		// Translations.
		{"an invalid default locale is refused",
			func(f *fixture) { f.manifest["defaultLocale"] = "english" }, "invalid_default_locale", false},
		{"the default locale needs its translation file",
			func(f *fixture) { f.manifest["defaultLocale"] = "fr" }, "missing_translation_file", false},
		{"a translation file named for no locale is refused",
			func(f *fixture) { f.files["translations/english.json"] = []byte(`{}`) }, "translation.invalid_locale", false},
		{"a translation file that is not JSON is refused",
			func(f *fixture) { f.files["translations/de.json"] = []byte(`{`) }, "translation.not_json", false},
		{"a translation file that is not an object is refused",
			func(f *fixture) { f.files["translations/de.json"] = []byte(`[]`) }, "translation.not_json_object", false},
		{"a parameter translation without a label is refused",
			func(f *fixture) {
				f.app()["parameters"] = map[string]any{"backend_url": map[string]any{"helpText": "x"}}
			}, "translation.missing_required_key_on_leaf", false},
		{"a translation file in Zendesk's format needs title/value leaves",
			func(f *fixture) { f.app()["package"] = "fixture" }, "translation.invalid_format", false},
		{"a private app's en.json needs app.name",
			func(f *fixture) { delete(f.app(), "name") }, "translation.missing_required_key", false},
		{"a public app's en.json needs every listing string",
			func(f *fixture) { f.manifest["private"] = false; delete(f.app(), "long_description") }, "translation.missing_required_key", false},
		{"strings grouped by product must be for products the manifest uses",
			func(f *fixture) { f.app()["sell"] = map[string]any{"name": "x"} }, "translation.products_do_not_match_manifest_products", false},
		{"strings grouped by product need the listing keys",
			func(f *fixture) { f.app()["chat"] = map[string]any{"short_description": "x"} }, "translation.missing_required_key_for_product", false},

		// Files.
		{"a symbolic link in the package is refused",
			func(f *fixture) {
				f.after = func(t *testing.T, dir string) {
					if err := os.Symlink("logo.png", filepath.Join(dir, "assets", "link.png")); err != nil {
						t.Fatal(err)
					}
				}
			}, "symlink_in_zip", false},
		{"a banner that is not a PNG is refused",
			func(f *fixture) { f.files[bannerFile] = []byte("GIF89a") }, "banner.invalid_format", false},
		{"a banner of the wrong size is refused",
			func(f *fixture) { f.files[bannerFile] = pngOf(100, 100) }, "banner.invalid_size", false},
		{"an archive in the package is flagged",
			func(f *fixture) { f.files["assets/bundle.zip"] = []byte("PK\x03\x04") }, "unsupported_mime_type_detected", true},
		{"a missing logo is flagged",
			func(f *fixture) { f.files["assets/logo.png"] = nil }, "missing_logo", true},
		{"a logo of the wrong size is flagged",
			func(f *fixture) { f.files["assets/logo-small.png"] = pngOf(64, 64) }, "invalid_logo", true},
		{"an app in two products is flagged without icons for each product",
			func(f *fixture) { f.addSupport() }, "missing_logo", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			tc.breakIt(f)
			problems := Validate(f.write(t))
			i := slices.IndexFunc(problems, func(p Problem) bool { return p.Rule == tc.rule })
			if i < 0 {
				t.Fatalf("no %s among:\n%s", tc.rule, joinProblems(problems))
			}
			if problems[i].Warning != tc.warning {
				t.Errorf("%s: warning = %v, want %v", tc.rule, problems[i].Warning, tc.warning)
			}
			if problems[i].Source == "" || problems[i].Message == "" {
				t.Errorf("%s has no source or message: %+v", tc.rule, problems[i])
			}
		})
	}
}

func TestWhatZASAcceptsIsAccepted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		changes func(f *fixture)
	}{
		{"the legacy product name zopim stands for chat",
			func(f *fixture) {
				loc := f.manifest["location"].(map[string]any)
				loc["zopim"] = loc["chat"]
				delete(loc, "chat")
			}},
		{"a location given as a plain URL string",
			func(f *fixture) {
				f.manifest["location"] = map[string]any{"chat": map[string]any{"chat_sidebar": "{{setting.backend_url}}/apps/panel/"}}
			}},
		{"a localhost URL over plain http",
			func(f *fixture) { f.chatSidebar()["url"] = "http://localhost:8080/apps/panel/" }},
		{"an assets/ URL naming a file in the package",
			func(f *fixture) { f.chatSidebar()["url"] = "assets/logo.png" }},
		{"a location that does not load at first without a URL",
			func(f *fixture) { delete(f.chatSidebar(), "url"); f.chatSidebar()["autoLoad"] = false }},
		{"description standing in for short_description in a public app",
			func(f *fixture) {
				f.manifest["private"] = false
				f.app()["description"] = f.app()["short_description"]
				delete(f.app(), "short_description")
			}},
		{"a secure parameter with Zendesk's scopes",
			func(f *fixture) {
				f.addParam(map[string]any{"name": "shared_secret", "secure": true, "scopes": []any{"jwt_secret_key", "header"}})
			}},
		{"a Support app's webhook and trigger requirements",
			func(f *fixture) {
				f.addSupport()
				small, _ := os.ReadFile(filepath.Join("chat-app-in-sell", "assets", "logo-small.png"))
				f.files["assets/support/logo-small.png"], f.files["assets/chat/logo-small.png"] = small, small
				f.files[requirementsFile] = []byte(`{"webhooks":{"solved":{"name":"n","status":"active","endpoint":"https://x.example/h","http_method":"POST","request_format":"json"}},` +
					`"triggers":{"on_solve":{"title":"On solve","conditions":{"all":[{"field":"status","operator":"value","value":"solved"}]},"actions":[]}}}`)
			}},
		{"Sell's top bar and cards",
			func(f *fixture) {
				f.manifest["location"] = map[string]any{"sell": map[string]any{
					"top_bar":     "{{setting.backend_url}}/settings/",
					"person_card": map[string]any{"url": "{{setting.backend_url}}/apps/feed/", "signed": true},
				}}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture()
			tc.changes(f)
			if problems := Validate(f.write(t)); len(problems) > 0 {
				t.Fatalf("want no problem, got:\n%s", joinProblems(problems))
			}
		})
	}
}

func TestZipPutsThePackageAtTheRootInAFixedOrder(t *testing.T) {
	t.Parallel()
	dir := copyPackage(t, "sell-app-in-chat")
	// Litter that must stay out of the zip.
	put(t, dir, ".DS_Store", []byte("x"))
	put(t, dir, "assets/.hidden", []byte("x"))
	put(t, dir, "tmp/app-123.zip", []byte("x"))

	var first, second bytes.Buffer
	if err := Zip(dir, &first); err != nil {
		t.Fatal(err)
	}
	if err := Zip(dir, &second); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("zipping the same package twice gave different bytes")
	}

	zr, err := zip.NewReader(bytes.NewReader(first.Bytes()), int64(first.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if !f.Modified.Equal(zipTime) {
			t.Errorf("%s: modified %v, want %v", f.Name, f.Modified, zipTime)
		}
	}
	want := []string{
		"assets/chat/logo-small.png", "assets/chat/logo.png",
		"assets/logo-small.png", "assets/logo.png",
		"assets/support/logo-small.png", "assets/support/logo.png",
		"manifest.json", "translations/en.json",
	}
	if !slices.Equal(names, want) {
		t.Errorf("entries = %v\nwant      %v", names, want)
	}
	assertSameContent(t, zr, dir, manifestFile)
}

func TestZipRefusesASymbolicLink(t *testing.T) {
	t.Parallel()
	dir := copyPackage(t, "chat-app-in-sell")
	if err := os.Symlink("logo.png", filepath.Join(dir, "assets", "link.png")); err != nil {
		t.Fatal(err)
	}
	if err := Zip(dir, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("err = %v, want a refusal of the symbolic link", err)
	}
}

func TestBuildWritesOneZipPerPackage(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "bin", "apps")
	written, warnings, err := Build(".", out)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings:\n%s", joinProblems(warnings))
	}
	want := []string{filepath.Join(out, "chat-app-in-sell.zip"), filepath.Join(out, "sell-app-in-chat.zip")}
	if !slices.Equal(written, want) {
		t.Fatalf("written = %v, want %v", written, want)
	}
	for _, path := range written {
		// Zendesk takes a private app's zip up to 2 MB (developer.zendesk.com,
		// "Uploading and installing a private app").
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > 2_000_000 {
			t.Errorf("%s: %d bytes, over Zendesk's 2 MB limit for a private app", path, info.Size())
		}
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(zr.File, func(f *zip.File) bool { return f.Name == manifestFile }) {
			t.Errorf("%s has no manifest.json at its root", path)
		}
		zr.Close()
	}
}

func TestBuildRefusesAnInvalidPackage(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	f := newFixture()
	f.chatSidebar()["url"] = "http://example.com/"
	pkg := f.write(t)
	if err := os.Rename(pkg, filepath.Join(root, "broken")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, _, err := Build(root, out); err == nil || !strings.Contains(err.Error(), "invalid_location_uri") {
		t.Fatalf("err = %v, want the package refused for its URL", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("an invalid package still created %s", out)
	}
}

// Helpers.

func put(t *testing.T, dir, rel string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func pngOf(w, h int) []byte {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, w, h)))
	return buf.Bytes()
}

func readManifest(t *testing.T, path string) *manifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	return parseManifest(raw)
}

// copyPackage copies a shipped package into a temporary folder the test may litter.
func copyPackage(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	files, err := packageFiles(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(name, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		put(t, dir, rel, data)
	}
	return dir
}

func assertSameContent(t *testing.T, zr *zip.Reader, dir, rel string) {
	t.Helper()
	rc, err := zr.Open(rel)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s in the zip differs from the package's", rel)
	}
}
