package apps

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// checkParameters mirrors validate_parameters of validations/manifest.rb, then the
// newer parameter rules whose error keys the ZAS translations file carries.
func (c *checker) checkParameters(m *manifest) {
	c.checkParameterShape(m)
	c.checkHiddenNotRequired(m)
	c.checkParameterTypes(m)
	c.checkOAuthParameters(m)
	c.checkNameParameter(m)
	c.checkScopes(m)
}

// checkParameterShape mirrors parameters_error, which stops at its first failing group:
// parameters is an array, names are unique, required and secure are booleans. An entry
// that is not an object is reported too: ZAS cannot read one at all.
func (c *checker) checkParameterShape(m *manifest) {
	if !m.paramsOK {
		c.fail("parameters_not_an_array", zasManifest, manifestFile, "parameters must be an array")
		return
	}
	list, _ := m.raw["parameters"].([]any)
	for i, item := range list {
		if _, ok := item.(map[string]any); !ok {
			c.fail("parameters_not_an_array", zasManifest, manifestFile, "parameters[%d] must be an object, got %s", i, jsonType(item))
			return
		}
	}
	if dups := duplicateNames(m.parameters); len(dups) > 0 {
		c.fail("duplicate_parameters", zasManifest, manifestFile, "parameters defined twice: %s", strings.Join(dups, ", "))
		return
	}
	for _, flag := range []string{"required", "secure"} {
		if c.parameterFlagsAreBooleans(m, flag) > 0 {
			return
		}
	}
}

func duplicateNames(params []parameter) []string {
	count := map[string]int{}
	var dups []string
	for _, p := range params {
		name := p.nameString()
		if count[name]++; count[name] == 2 {
			dups = append(dups, name)
		}
	}
	return dups
}

// parameterFlagsAreBooleans reports each parameter whose flag is not a boolean and
// returns how many there were.
func (c *checker) parameterFlagsAreBooleans(m *manifest, flag string) int {
	bad := 0
	for _, p := range m.parameters {
		v := orFalse(p.raw[flag])
		if _, ok := v.(bool); !ok {
			c.fail("unacceptable_boolean", zasManifest, manifestFile, "parameters.%s.%s must be a boolean, got %s", p.nameString(), flag, jsonType(v))
			bad++
		}
	}
	return bad
}

// checkHiddenNotRequired mirrors invalid_hidden_parameter_error: nobody can fill in a
// hidden parameter, so it cannot be required.
func (c *checker) checkHiddenNotRequired(m *manifest) {
	for _, p := range m.parameters {
		if p.typ == "hidden" && truthy(p.required()) {
			c.fail("invalid_hidden_parameter", zasManifest, manifestFile, "%s is hidden and cannot be required", p.nameString())
		}
	}
}

// checkParameterTypes mirrors invalid_type_error against manifest/parameter.rb TYPES,
// and refuses the password type, which ZAS's translations file
// (password_parameter_type_deprecated) says "can no longer be used".
func (c *checker) checkParameterTypes(m *manifest) {
	for _, p := range m.parameters {
		typ, _ := p.typ.(string)
		switch {
		case !slices.Contains(parameterTypes, typ):
			c.fail("invalid_type_parameter", zasManifest, manifestFile, "%v is not a parameter type (%s)", p.typ, strings.Join(parameterTypes, ", "))
		case typ == "password":
			c.fail("password_parameter_type_deprecated", zasTranslationsYML, manifestFile, "%s: the password type can no longer be used; use a secure text parameter", p.nameString())
		}
	}
}

// checkOAuthParameters mirrors too_many_oauth_parameters and oauth_cannot_be_secure.
func (c *checker) checkOAuthParameters(m *manifest) {
	n := 0
	for _, p := range m.parameters {
		if p.typ != "oauth" {
			continue
		}
		n++
		if truthy(p.secure()) {
			c.fail("oauth_parameter_cannot_be_secure", zasManifest, manifestFile, "%s: an oauth parameter cannot be secure", p.nameString())
		}
	}
	if n > 1 {
		c.fail("too_many_oauth_parameters", zasManifest, manifestFile, "%d parameters of type oauth; one is allowed", n)
	}
}

// checkNameParameter mirrors name_as_parameter_name_error.
func (c *checker) checkNameParameter(m *manifest) {
	if slices.ContainsFunc(m.parameters, func(p parameter) bool { return p.name == "name" }) {
		c.fail("name_as_parameter_name", zasManifest, manifestFile, "a parameter cannot be called \"name\"")
	}
}

// checkScopes mirrors the secure-parameter scope rules: scopes only on a secure
// parameter, never an empty list, each one Zendesk knows. Their keys
// (scope_requires_secure_parameter, scopes_cannot_be_empty,
// invalid_secure_parameter_scopes) are in ZAS's translations file; the scope list is
// SECURE_PARAM_SCOPES of validations/manifest.rb in snapshot f3de3c7.
func (c *checker) checkScopes(m *manifest) {
	for _, p := range m.parameters {
		v, ok := p.raw["scopes"]
		if !ok || v == nil {
			continue
		}
		if !truthy(p.secure()) {
			c.fail("scope_requires_secure_parameter", zasTranslationsYML, manifestFile, "%s: scopes can only be set on a secure parameter", p.nameString())
		}
		list, isList := v.([]any)
		if isList && len(list) == 0 {
			c.fail("scopes_cannot_be_empty", zasTranslationsYML, manifestFile, "%s: scopes cannot be empty when given", p.nameString())
		}
		if bad := unknownScopes(v); len(bad) > 0 {
			c.fail("invalid_secure_parameter_scopes", zasTranslationsYML, manifestFile, "%s: unknown scopes %s (known: %s)",
				p.nameString(), strings.Join(bad, ", "), strings.Join(secureParameterScopes, ", "))
		}
	}
}

func unknownScopes(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{fmt.Sprint(v)}
	}
	var bad []string
	for _, s := range list {
		if name, _ := s.(string); !slices.Contains(secureParameterScopes, name) {
			bad = append(bad, fmt.Sprint(s))
		}
	}
	return bad
}

// securable mirrors SECURABLE_KEYWORDS_REGEXP (case-insensitive).
var securable = regexp.MustCompile(`(?i)` + strings.Join(securableWords, "|"))

// checkSecureSettings mirrors validations/secure_settings.rb, whose findings are
// warnings: a token-like text parameter that is not secure, a default on a secure or
// hidden parameter (defaults are not stored securely), a secure parameter without scopes.
func (c *checker) checkSecureSettings(m *manifest) {
	for _, p := range m.parameters {
		name := p.nameString()
		secure := truthy(p.secure())
		if securable.MatchString(name) && (p.typ == "text" || p.typ == "password") && !secure {
			c.warn("insecure_token_parameter_in_manifest", zasSecureSettings, manifestFile, "%s looks like a secret: set secure to true", name)
		}
		if p.hasDefault && (secure || p.typ == "hidden") {
			c.warn("default_secure_or_hidden_parameter_in_manifest", zasSecureSettings, manifestFile, "%s: a default on a secure or hidden parameter is not stored securely", name)
		}
		if scopes, _ := p.raw["scopes"].([]any); secure && len(scopes) == 0 {
			c.warn("secure_parameters_with_no_scopes_in_manifest", zasSecureSettings, manifestFile, "%s is secure but declares no scopes", name)
		}
	}
}
