package apps

import (
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// translationPath mirrors validations/translations.rb TRANSLATIONS_PATH.
var translationPath = regexp.MustCompile(`^translations/(.*)\.json$`)

// checkTranslations mirrors validations/translations.rb: every translations/*.json has a
// valid locale name and holds a JSON object in the right shape; once all of them are
// sound, translations/en.json must carry the strings the app listing needs.
func (c *checker) checkTranslations(m *manifest) {
	failed := false
	for _, rel := range c.files() {
		match := translationPath.FindStringSubmatch(rel)
		if match == nil {
			continue
		}
		before := len(c.problems)
		c.checkTranslationFile(rel, match[1])
		failed = failed || len(c.problems) > before
		// ZAS checks en.json's listing strings only while no translation file so far
		// has failed (`next unless errors.compact.empty?`).
		if !failed && rel == "translations/en.json" {
			c.checkListingStrings(m, rel)
		}
	}
}

func (c *checker) checkTranslationFile(rel, locale string) {
	if !validLocale.MatchString(locale) {
		c.fail("translation.invalid_locale", zasTranslations, rel, "%q is not a valid locale", locale)
	}
	obj, _, err := c.readJSONObject(rel)
	switch {
	case errors.Is(err, errNotObject):
		c.fail("translation.not_json_object", zasTranslations, rel, "not a JSON object")
		return
	case err != nil:
		c.fail("translation.not_json", zasTranslations, rel, "not valid JSON: %v", err)
		return
	}
	app, _ := obj["app"].(map[string]any)
	if _, ok := app["package"]; ok {
		c.checkZendeskFormat(rel, obj)
	}
	c.checkParameterLabels(rel, app)
}

// checkZendeskFormat mirrors validate_translation_format, which ZAS applies to a file
// in Zendesk's own format (one with app.package): every value an object, each leaf an
// object of exactly a string title and a string value. ZAS drops app.package first.
func (c *checker) checkZendeskFormat(rel string, obj map[string]any) {
	if bad := badTranslationLeaf(obj, ""); bad != "" {
		c.fail("translation.invalid_format", zasTranslations, rel, "%s is not in the title/value format", bad)
	}
}

func badTranslationLeaf(obj map[string]any, prefix string) string {
	for _, key := range sortedKeys(obj) {
		path := strings.TrimPrefix(prefix+"."+key, ".")
		if path == "app.package" {
			continue
		}
		child, ok := obj[key].(map[string]any)
		if !ok {
			return path
		}
		if isTitleValue(child) {
			continue
		}
		if bad := badTranslationLeaf(child, path); bad != "" {
			return bad
		}
	}
	return ""
}

// isTitleValue mirrors the leaf test: keys exactly title and value (build_translation.rb
// I18N_KEYS), both strings.
func isTitleValue(obj map[string]any) bool {
	if len(obj) != 2 {
		return false
	}
	_, t := obj["title"].(string)
	_, v := obj["value"].(string)
	return t && v
}

// checkParameterLabels mirrors format_error: each entry under app.parameters is an
// object with a label (what the admin sees next to the setting).
func (c *checker) checkParameterLabels(rel string, app map[string]any) {
	params, _ := app["parameters"].(map[string]any)
	for _, name := range sortedKeys(params) {
		leaf, ok := params[name].(map[string]any)
		if _, hasLabel := leaf["label"]; !ok || !hasLabel {
			c.fail("translation.missing_required_key_on_leaf", zasTranslations, rel, "app.parameters.%s needs a label", name)
			return
		}
	}
}

// checkListingStrings mirrors validate_marketplace_content: a private app needs
// app.name; a public one also app.short_description (or description),
// app.long_description and app.installation_instructions. Strings may instead be
// grouped per product (app.<product>.name…), for products the manifest uses.
func (c *checker) checkListingStrings(m *manifest, rel string) {
	obj, _, err := c.readJSONObject(rel)
	if err != nil {
		return
	}
	app, _ := obj["app"].(map[string]any)
	var productKeys []string
	for _, p := range products {
		if _, ok := app[p.name]; ok {
			productKeys = append(productKeys, p.name)
		}
	}
	if len(productKeys) == 0 {
		if missing := missingListingKeys(app, m.private()); len(missing) > 0 {
			c.fail("translation.missing_required_key", zasTranslations, rel, "missing app.%s", strings.Join(missing, ", app."))
		}
		return
	}
	c.checkProductListings(m, rel, app, productKeys)
}

func (c *checker) checkProductListings(m *manifest, rel string, app map[string]any, productKeys []string) {
	manifestProducts := m.products()
	if slices.ContainsFunc(productKeys, func(p string) bool { return !slices.Contains(manifestProducts, p) }) {
		c.fail("translation.products_do_not_match_manifest_products", zasTranslations, rel,
			"products in translations (%s) are not all in the manifest (%s)", strings.Join(productKeys, ", "), strings.Join(manifestProducts, ", "))
	}
	for _, p := range productKeys {
		group, _ := app[p].(map[string]any)
		if missing := missingListingKeys(group, m.private()); len(missing) > 0 {
			c.fail("translation.missing_required_key_for_product", zasTranslations, rel, "missing app.%s.%s", p, strings.Join(missing, ", app."+p+"."))
			return
		}
	}
}

// missingListingKeys mirrors get_missing_keys; description stands in for
// short_description, which older apps used.
func missingListingKeys(group map[string]any, private bool) []string {
	required := []string{"name", "short_description", "installation_instructions", "long_description"}
	if private {
		required = required[:1]
	}
	var missing []string
	for _, key := range required {
		_, ok := group[key]
		if key == "short_description" {
			_, alt := group["description"]
			ok = ok || alt
		}
		if !ok {
			missing = append(missing, key)
		}
	}
	return missing
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

const requirementsFile = "requirements.json"

// checkRequirements mirrors the parts of validations/requirements.rb that do not
// depend on the requirement types: a requirements-only app ships requirements.json, a
// marketing-only or Chat-only app may not, and the file is JSON with no repeated key.
// sellchat's apps ship none; the checks of what a requirement holds are not mirrored.
func (c *checker) checkRequirements(m *manifest) {
	has := c.hasFile(requirementsFile)
	switch {
	case m.requirementsOnly() && !has:
		c.fail("missing_requirements", zasRequirements, requirementsFile, "a requirements-only app needs requirements.json")
		return
	case has && !supportsRequirements(m):
		c.fail("requirements_not_supported", zasRequirements, requirementsFile, "marketing-only and Chat-only apps cannot have requirements")
		return
	case !has:
		return
	}
	_, data, err := c.readJSONObject(requirementsFile)
	if err != nil && !errors.Is(err, errNotObject) {
		c.fail("requirements_not_json", zasRequirements, requirementsFile, "not valid JSON: %v", err)
		return
	}
	if key, _ := duplicateKey(data); key != "" {
		c.fail("duplicate_requirements", zasRequirements, requirementsFile, "key %q is given twice", key)
		return
	}
	var reqs map[string]map[string]map[string]any
	if err := json.Unmarshal(data, &reqs); err != nil {
		c.fail("requirements_not_json", zasRequirements, requirementsFile, "each type must be an object of named requirements: %v", err)
		return
	}
	c.checkRequirementFields(reqs)
}

// requirementTypes mirrors AppRequirement::TYPES with the keys the newest
// requirements.rb adds (organization_fields, custom_objects, webhooks,
// custom_objects_v2).
var requirementTypes = []string{"automations", "channel_integrations", "custom_objects", "custom_objects_v2", "macros",
	"organization_fields", "targets", "ticket_fields", "triggers", "user_fields", "views", "webhooks"}

// maxRequirements mirrors MAX_REQUIREMENTS.
const maxRequirements = 5000

// checkRequirementFields mirrors requirements.rb's checks of each requirement: known
// types, the count, channel integrations, custom fields' key, webhooks' five fields,
// targets' types and every other requirement's title.
func (c *checker) checkRequirementFields(reqs map[string]map[string]map[string]any) {
	count := 0
	for _, typ := range slices.Sorted(maps.Keys(reqs)) {
		if !slices.Contains(requirementTypes, typ) {
			c.fail("invalid_requirements_types", zasRequirements, requirementsFile, "%q is not a requirement type", typ)
			continue
		}
		count += len(reqs[typ])
		if typ == "channel_integrations" && len(reqs[typ]) > 1 {
			c.fail("multiple_channel_integrations", zasRequirements, requirementsFile, "at most one channel integration")
		}
		for _, id := range slices.Sorted(maps.Keys(reqs[typ])) {
			for _, field := range requiredRequirementFields(typ) {
				if _, ok := reqs[typ][id][field]; !ok {
					c.fail("missing_required_fields", zasRequirements, requirementsFile, "%s %q needs %q", typ, id, field)
				}
			}
			if t, _ := reqs[typ][id]["type"].(string); typ == "targets" && (t == "http_target" || t == "url_target_v2") {
				c.fail("invalid_requirements_types", zasRequirements, requirementsFile, "targets -> %s is not allowed", t)
			}
		}
	}
	if count > maxRequirements {
		c.fail("excessive_requirements", zasRequirements, requirementsFile, "%d requirements, at most %d", count, maxRequirements)
	}
}

// requiredRequirementFields is what one requirement of typ must have.
func requiredRequirementFields(typ string) []string {
	switch typ {
	case "webhooks":
		return []string{"name", "status", "endpoint", "http_method", "request_format"}
	case "channel_integrations":
		return []string{"manifest_url"}
	case "custom_objects", "custom_objects_v2":
		return nil // their own schema checks, not mirrored: sellchat declares none
	case "user_fields", "organization_fields":
		return []string{"title", "key"}
	}
	return []string{"title"}
}

// supportsRequirements mirrors supports_requirements.
func supportsRequirements(m *manifest) bool {
	hosts := m.productsIgnoringLocations()
	return !m.marketingOnly() && !(len(hosts) == 1 && hosts[0] == "chat")
}
