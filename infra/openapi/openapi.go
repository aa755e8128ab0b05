// Package openapi reads openapi.yaml, the written HTTP contract, far enough to hold it
// against the code: which operations it lists, as Go 1.22 mux patterns, and which
// statuses and media types each one documents. Its tests compare the operations with
// the routes the functions serve; the bootstrap test (functions/) checks every answer
// the built functions give against it.
//
// Greedy path parameters: OpenAPI has none, so openapi.yaml writes API Gateway's
// "/settings/{file+}" (Go: "/settings/{file...}") as "/settings/{file}" and marks the
// parameter with "x-greedy: true". Pattern turns such a parameter into "{file...}".
package openapi

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc is a parsed openapi.yaml. It keeps the document as plain maps, so that $refs
// anywhere in it can be followed.
type Doc struct {
	root map[string]any
}

// Operation is one method of one path.
type Operation struct {
	Method  string // "GET"
	Path    string // "/settings/{file}", as openapi.yaml writes it
	Pattern string // "GET /settings/{file...}", as Go's mux (and httpx.Router) writes it
	// Responses maps each documented status ("200", "default") to its
	// response object, $ref followed.
	Responses map[string]map[string]any
	// Security names the security schemes the operation requires: its own
	// "security", else the document's; empty for a public operation.
	Security map[string]bool
}

// Load parses the file at path.
func Load(path string) (*Doc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// Parse parses an OpenAPI 3 document in YAML (or JSON).
func Parse(raw []byte) (*Doc, error) {
	var root map[string]any
	if err := yaml.Unmarshal(raw, &root); err != nil {
		return nil, err
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.") {
		return nil, fmt.Errorf("not an OpenAPI 3 document (openapi: %q)", v)
	}
	return &Doc{root: root}, nil
}

// methods are the operation keys of a path item; anything else in a path item must
// be one of pathItemFields or an x- extension, so a misspelt method is not skipped.
var methods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true, "trace": true}

var pathItemFields = map[string]bool{"summary": true, "description": true, "servers": true, "parameters": true, "$ref": true}

var templateParam = regexp.MustCompile(`\{([^{}]+)\}`)

// Operations returns every operation, sorted by pattern. It fails on what would make
// the mapping to Go patterns a guess: an undeclared or unused path parameter, or a
// greedy one that is not the whole last segment.
func (d *Doc) Operations() ([]Operation, error) {
	paths, ok := d.root["paths"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("no paths")
	}
	var ops []Operation
	for path, rawItem := range paths {
		item, ok := rawItem.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not a path item", path)
		}
		for key, rawOp := range item {
			if !methods[key] {
				if !pathItemFields[key] && !strings.HasPrefix(key, "x-") {
					return nil, fmt.Errorf("%s: unexpected key %q in a path item", path, key)
				}
				continue
			}
			op, ok := rawOp.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s %s: not an operation", key, path)
			}
			o, err := d.operation(strings.ToUpper(key), path, item, op)
			if err != nil {
				return nil, err
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Pattern < ops[j].Pattern })
	return ops, nil
}

func (d *Doc) operation(method, path string, item, op map[string]any) (Operation, error) {
	name := method + " " + path
	// Path parameters: the path item's, overridden by the operation's of the same name.
	params := map[string]map[string]any{}
	for _, list := range []any{item["parameters"], op["parameters"]} {
		ps, _ := list.([]any)
		for _, raw := range ps {
			p, err := d.resolveMap(raw)
			if err != nil {
				return Operation{}, fmt.Errorf("%s: parameter: %w", name, err)
			}
			if p["in"] == "path" {
				n, _ := p["name"].(string)
				params[n] = p
			}
		}
	}
	used := map[string]bool{}
	var convErr error
	goPath := templateParam.ReplaceAllStringFunc(path, func(m string) string {
		n := m[1 : len(m)-1]
		used[n] = true
		p, ok := params[n]
		switch {
		case !ok:
			convErr = fmt.Errorf("%s: path parameter {%s} is not declared", name, n)
		case p["required"] != true:
			convErr = fmt.Errorf("%s: path parameter {%s} must be required", name, n)
		case p["x-greedy"] == true:
			if !strings.HasSuffix(path, "/"+m) {
				convErr = fmt.Errorf("%s: greedy {%s} must be the whole last segment", name, n)
			}
			return "{" + n + "...}"
		}
		return m
	})
	if convErr != nil {
		return Operation{}, convErr
	}
	for n := range params {
		if !used[n] {
			return Operation{}, fmt.Errorf("%s: path parameter %q is not in the path", name, n)
		}
	}
	o := Operation{Method: method, Path: path, Pattern: method + " " + goPath,
		Responses: map[string]map[string]any{}, Security: map[string]bool{}}
	sec, declared := op["security"]
	if !declared {
		sec = d.root["security"]
	}
	reqs, _ := sec.([]any)
	for _, req := range reqs {
		m, _ := req.(map[string]any)
		for scheme := range m {
			o.Security[scheme] = true
		}
	}
	rs, ok := op["responses"].(map[string]any)
	if !ok {
		// An unquoted status (200:) makes YAML keys numbers: say so rather than
		// reading no responses at all.
		return Operation{}, fmt.Errorf("%s: responses must be a map keyed by quoted statuses", name)
	}
	for status, raw := range rs {
		resolved, err := d.resolveMap(raw)
		if err != nil {
			return Operation{}, fmt.Errorf("%s: response %s: %w", name, status, err)
		}
		o.Responses[status] = resolved
	}
	return o, nil
}

// Resolve follows v's $ref (and that one's) within the document; v itself when it
// has none. Only local refs ("#/…") are known.
func (d *Doc) Resolve(v any) (any, error) {
	for range 20 {
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, nil
		}
		target, err := d.lookup(ref)
		if err != nil {
			return nil, err
		}
		v = target
	}
	return nil, fmt.Errorf("$ref chain too long (a cycle?)")
}

func (d *Doc) resolveMap(v any) (map[string]any, error) {
	r, err := d.Resolve(v)
	if err != nil {
		return nil, err
	}
	m, ok := r.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object: %v", r)
	}
	return m, nil
}

func (d *Doc) lookup(ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = d.root
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

// Refs returns every $ref in the document, each with where it stands.
func (d *Doc) Refs() map[string]string {
	out := map[string]string{}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, c := range t {
				if k == "$ref" {
					if s, ok := c.(string); ok {
						out[at] = s
					}
					continue
				}
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range t {
				walk(at+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", d.root)
	return out
}

// Response returns the response object documented for exactly status. "default"
// (the errors any route may give) does not count: an answer a test provokes on
// purpose must be named in the contract.
func (o Operation) Response(status int) (map[string]any, bool) {
	r, ok := o.Responses[strconv.Itoa(status)]
	return r, ok
}

// MediaTypes lists the media types a response object documents.
func MediaTypes(response map[string]any) []string {
	c, _ := response["content"].(map[string]any)
	out := make([]string, 0, len(c))
	for mt := range c {
		out = append(out, mt)
	}
	sort.Strings(out)
	return out
}

// Router matches requests to operations the way the functions' mux does, so a
// request can be checked against the operation that would serve it.
type Router struct {
	mux *http.ServeMux
	ops map[string]Operation
}

// NewRouter builds a Router over ops.
func NewRouter(ops []Operation) (*Router, error) {
	r := &Router{mux: http.NewServeMux(), ops: map[string]Operation{}}
	for _, o := range ops {
		if _, dup := r.ops[o.Pattern]; dup {
			return nil, fmt.Errorf("%s is listed twice", o.Pattern)
		}
		r.ops[o.Pattern] = o
		r.mux.Handle(o.Pattern, http.NotFoundHandler())
	}
	return r, nil
}

// Match returns the operation that serves method and target (a path with an
// optional query), as Go's mux would choose it.
func (r *Router) Match(method, target string) (Operation, bool) {
	req, err := http.NewRequest(method, "http://sellchat.invalid"+target, nil)
	if err != nil {
		return Operation{}, false
	}
	_, pattern := r.mux.Handler(req)
	o, ok := r.ops[pattern]
	return o, ok
}
