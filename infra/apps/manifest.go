package apps

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// legacyURL is ZAS's stand-in URL (manifest.rb LEGACY_URI_STUB) for a framework v1
// location written as a bare name, which has no URL of its own.
const legacyURL = "_legacy"

// manifest is manifest.json as ZAS's Manifest class reads it (manifest.rb): the raw
// object plus the locations normalised to product → location → options.
type manifest struct {
	raw        map[string]any
	locations  []placement
	usedHosts  []string // the product keys the manifest wrote, legacy names included
	badHosts   []string // product keys whose value is neither an object nor an array
	parameters []parameter
	paramsOK   bool // parameters is absent or an array
}

// placement is one location the app asks for.
type placement struct {
	product string // the product's current name, whatever key the manifest used
	name    string
	options map[string]any
}

func (p placement) url() (string, bool) {
	s, ok := p.options["url"].(string)
	return s, ok
}

// legacy mirrors manifest/location_options.rb legacy?: set explicitly or by the stub URL.
func (p placement) legacy() bool {
	u, _ := p.url()
	return truthy(p.options["legacy"]) || u == legacyURL
}

// autoLoad mirrors location_options.rb: autoLoad defaults to true.
func (p placement) autoLoad() bool {
	v, ok := p.options["autoLoad"]
	return !ok || truthy(v)
}

// known returns the ZAS location, if ZAS knows one of that name for the product.
func (p placement) known() (location, bool) {
	prod, ok := productNamed(p.product)
	if !ok {
		return location{}, false
	}
	return prod.find(p.name)
}

// parameter is one entry of the manifest's parameters, read as manifest/parameter.rb
// does (type defaults to text; required and secure to false).
type parameter struct {
	raw        map[string]any
	name       any
	typ        any
	hasDefault bool
}

func (p parameter) nameString() string { return fmt.Sprint(p.name) }

func (p parameter) required() any { return orFalse(p.raw["required"]) }
func (p parameter) secure() any   { return orFalse(p.raw["secure"]) }

// orFalse is Ruby's `x || false`.
func orFalse(v any) any {
	if v == nil {
		return false
	}
	return v
}

func parseManifest(raw map[string]any) *manifest {
	m := &manifest{raw: raw}
	m.locations, m.usedHosts = parseLocations(raw["location"])
	m.badHosts = badHosts(raw["location"])
	m.parameters, m.paramsOK = parseParameters(raw["parameters"])
	return m
}

// parseLocations mirrors manifest.rb set_locations_and_hosts: an object keyed by
// product (current or legacy name, the current one winning), or the v1 forms, an array
// of Support location names or a single name, which get the legacy stub URL.
func parseLocations(v any) ([]placement, []string) {
	switch loc := v.(type) {
	case map[string]any:
		return productPlacements(loc), slices.Sorted(maps.Keys(loc))
	case []any:
		var out []placement
		for _, name := range loc {
			out = append(out, placement{product: "support", name: fmt.Sprint(name), options: map[string]any{"url": legacyURL}})
		}
		return out, []string{"support"}
	case string:
		return []placement{{product: "support", name: loc, options: map[string]any{"url": legacyURL}}}, []string{"support"}
	}
	return nil, []string{"support"}
}

// productPlacements mirrors replace_legacy_locations and replace_string_uris: each
// location's value is its options object, or else taken as its URL.
func productPlacements(loc map[string]any) []placement {
	var out []placement
	for _, p := range products {
		value, ok := loc[p.name]
		if !ok {
			value = loc[p.legacy]
		}
		byName := placementsOf(value)
		for _, name := range slices.Sorted(maps.Keys(byName)) {
			out = append(out, placement{product: p.name, name: name, options: byName[name]})
		}
	}
	return out
}

// placementsOf reads one product's locations by name. An array of names is what ZAS's
// each_with_object makes of one: every name with no URL.
func placementsOf(value any) map[string]map[string]any {
	out := map[string]map[string]any{}
	switch locs := value.(type) {
	case map[string]any:
		for name, v := range locs {
			if opts, ok := v.(map[string]any); ok {
				out[name] = opts
			} else {
				out[name] = map[string]any{"url": v}
			}
		}
	case []any:
		for _, name := range locs {
			out[fmt.Sprint(name)] = map[string]any{"url": nil}
		}
	}
	return out
}

// badHosts lists the product keys whose value ZAS cannot read as locations at all (its
// each_with_object fails on them, so the upload errors out).
func badHosts(v any) []string {
	loc, _ := v.(map[string]any)
	var out []string
	for _, host := range slices.Sorted(maps.Keys(loc)) {
		switch loc[host].(type) {
		case map[string]any, []any, nil:
		default:
			out = append(out, host)
		}
	}
	return out
}

// parseParameters mirrors manifest.rb parameters: anything but an array reads as none.
func parseParameters(v any) ([]parameter, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, v == nil
	}
	out := make([]parameter, 0, len(list))
	for _, item := range list {
		raw, _ := item.(map[string]any)
		if raw == nil {
			raw = map[string]any{}
		}
		_, hasDefault := raw["default"]
		typ := raw["type"]
		if !truthy(typ) {
			typ = "text"
		}
		out = append(out, parameter{raw: raw, name: raw["name"], typ: typ, hasDefault: hasDefault})
	}
	return out, true
}

func (m *manifest) requirementsOnly() bool { return truthy(m.raw["requirementsOnly"]) }
func (m *manifest) marketingOnly() bool    { return truthy(m.raw["marketingOnly"]) }

// private mirrors manifest.rb: m.fetch('private', true).
func (m *manifest) private() bool {
	v, ok := m.raw["private"]
	return !ok || truthy(v)
}

func (m *manifest) frameworkVersion() string {
	s, _ := m.raw["frameworkVersion"].(string)
	return s
}

// products mirrors manifest.rb products: Support for a requirements-only app, the
// location keys (or Support) for a marketing-only one, else the products of the
// locations asked for, in order.
func (m *manifest) products() []string {
	if m.requirementsOnly() {
		return []string{"support"}
	}
	if m.marketingOnly() {
		if hosts := m.productsIgnoringLocations(); len(hosts) > 0 {
			return hosts
		}
		return []string{"support"}
	}
	var out []string
	for _, p := range m.locations {
		if !slices.Contains(out, p.product) {
			out = append(out, p.product)
		}
	}
	return out
}

// productsIgnoringLocations mirrors manifest.rb products_ignore_locations: the products
// named as location keys, whether or not they hold any location.
func (m *manifest) productsIgnoringLocations() []string {
	var out []string
	for _, host := range m.usedHosts {
		if p, ok := productNamed(host); ok && !slices.Contains(out, p.name) {
			out = append(out, p.name)
		}
	}
	return out
}

// settingNames lists the {{setting.NAME}} placeholders in a location URL.
func settingNames(url string) []string {
	var out []string
	for rest := url; ; {
		_, after, ok := strings.Cut(rest, "{{setting.")
		if !ok {
			return out
		}
		name, tail, ok := strings.Cut(after, "}}")
		if !ok {
			return out
		}
		out = append(out, strings.TrimSpace(name))
		rest = tail
	}
}
