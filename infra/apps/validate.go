package apps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Problem is one thing wrong with a package. Rule is the key ZAS reports the same fault
// under (so a reader can find it in ZAS's translations), Source where the rule comes
// from (the ZAS file whose check it mirrors, or the few that are not ZAS's), File the
// package file at fault. A Warning does not stop an upload: ZAS adds those to the
// package's warnings rather than its errors.
type Problem struct {
	Rule    string
	Source  string
	File    string
	Message string
	Warning bool
}

func (p Problem) String() string {
	kind := "error"
	if p.Warning {
		kind = "warning"
	}
	return fmt.Sprintf("%s: %s %s: %s (%s)", p.File, kind, p.Rule, p.Message, p.Source)
}

// Errors keeps the problems that would make Zendesk refuse the package.
func Errors(problems []Problem) []Problem {
	return slices.DeleteFunc(slices.Clone(problems), func(p Problem) bool { return p.Warning })
}

// Where the rules come from, as cited in each Problem.
const (
	zasManifest        = "ZAS validations/manifest.rb"
	zasTranslations    = "ZAS validations/translations.rb"
	zasRequirements    = "ZAS validations/requirements.rb"
	zasMarketplace     = "ZAS validations/marketplace.rb"
	zasSecureSettings  = "ZAS validations/secure_settings.rb"
	zasBanner          = "ZAS validations/banner.rb"
	zasMime            = "ZAS validations/mime.rb"
	zasPackage         = "ZAS package.rb"
	zasTranslationsYML = "ZAS config/locales/translations/zendesk_apps_support.yml"
	zasLocationOptions = "ZAS manifest/location_options.rb"
	publishingGuide    = "Zendesk's publishing guide"
	sellchatRule       = "sellchat, not ZAS"
)

const manifestFile = "manifest.json"

// Validate checks the package in dir as ZAS's Package#validate would on upload, plus
// the warnings ZAS reports and the logo sizes Zendesk's publishing guide asks for. An
// empty result means nothing to fix.
func Validate(dir string) []Problem {
	c := &checker{dir: dir}
	if m, ok := c.loadManifest(); ok {
		c.checkPackage(m)
	}
	c.checkBanner() // package.rb checks the banner whatever the manifest
	return c.problems
}

// checkPackage runs the checks that need the manifest. package.rb runs the other
// validations only on a manifest without errors (has_valid_manifest?).
func (c *checker) checkPackage(m *manifest) {
	c.checkManifest(m)
	if len(Errors(c.problems)) == 0 {
		c.checkMarketplace(m)
		c.checkTranslations(m)
		c.checkRequirements(m)
	}
	c.checkSecureSettings(m)
	c.checkFileTypes()
	c.checkLogos(m)
	c.checkSettingPlaceholders(m)
}

// checker collects the problems of one package.
type checker struct {
	dir      string
	problems []Problem
}

func (c *checker) fail(rule, source, file, format string, args ...any) {
	c.problems = append(c.problems, Problem{Rule: rule, Source: source, File: file, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) warn(rule, source, file, format string, args ...any) {
	c.problems = append(c.problems, Problem{Rule: rule, Source: source, File: file, Message: fmt.Sprintf(format, args...), Warning: true})
}

// hasFile mirrors package.rb has_file?: a regular file at that package path.
func (c *checker) hasFile(rel string) bool {
	return fileExists(filepath.Join(c.dir, filepath.FromSlash(rel)))
}

// files lists the package's regular files as slash paths, sorted, leaving out tmp/ as
// package.rb files does.
func (c *checker) files() []string {
	var out []string
	_ = filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(c.dir, path)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, "tmp/") {
			out = append(out, rel)
		}
		return nil
	})
	slices.Sort(out)
	return out
}

// loadManifest reads manifest.json the way validations/manifest.rb call does: it must
// sit at the package root, be JSON, and repeat no key (ZAS parses into a NoOverrideHash,
// manifest/no_override_hash.rb, which raises on a second value for a key).
func (c *checker) loadManifest() (*manifest, bool) {
	data, err := os.ReadFile(filepath.Join(c.dir, manifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		c.missingManifest()
		return nil, false
	}
	if err != nil {
		c.fail("missing_manifest", zasManifest, manifestFile, "read: %v", err)
		return nil, false
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		c.fail("manifest_not_json", zasManifest, manifestFile, "manifest is not a JSON object: %v", err)
		return nil, false
	}
	if key, _ := duplicateKey(data); key != "" {
		c.fail("duplicate_manifest_keys", zasManifest, manifestFile, "key %q is given twice", key)
		return nil, false
	}
	return parseManifest(raw), true
}

// missingManifest tells a manifest one folder down (a zip made of the folder rather than
// its contents) from none at all, as validations/manifest.rb does.
func (c *checker) missingManifest() {
	nested, _ := filepath.Glob(filepath.Join(c.dir, "*", manifestFile))
	if len(nested) > 0 {
		rel, _ := filepath.Rel(c.dir, nested[0])
		c.fail("nested_manifest", zasManifest, filepath.ToSlash(rel),
			"manifest.json must be at the root of the package, not in %s", filepath.ToSlash(filepath.Dir(rel)))
		return
	}
	c.fail("missing_manifest", zasManifest, manifestFile, "could not find manifest.json")
}

// duplicateKey returns the first key that an object in the JSON text repeats.
func duplicateKey(data []byte) (string, error) {
	return walkJSON(json.NewDecoder(bytes.NewReader(data)))
}

func walkJSON(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			key, _ := kt.(string)
			if seen[key] {
				return key, nil
			}
			seen[key] = true
			if dup, err := walkJSON(dec); dup != "" || err != nil {
				return dup, err
			}
		}
	case json.Delim('['):
		for dec.More() {
			if dup, err := walkJSON(dec); dup != "" || err != nil {
				return dup, err
			}
		}
	default:
		return "", nil
	}
	_, err = dec.Token() // the closing delimiter
	return "", err
}

// truthy is Ruby's idea of a true value, which ZAS's `x ||= false` and `if x` use.
func truthy(v any) bool {
	return v != nil && v != false
}

// jsonType names a decoded JSON value's type for messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// readJSONObject reads a package file that must hold a JSON object.
func (c *checker) readJSONObject(rel string) (map[string]any, []byte, error) {
	data, err := os.ReadFile(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, nil, err
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, data, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, data, errNotObject
	}
	return obj, data, nil
}

var errNotObject = errors.New("not a JSON object")
