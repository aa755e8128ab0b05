package functions_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// The layout rules below are the ones README's "Layout" and docs/design.md's "The
// tree today" describe; this test is what keeps the two true as packages come and go.

const module = "github.com/sellchat/sellchat"

// kinds are the only folders shared/ may hold: each says what kind of package
// lives under it.
var kinds = []string{"handler", "domain", "adapter", "platform"}

type goPackage struct {
	ImportPath string
	Dir        string
	Imports    []string
}

// packages lists the module's packages with the imports of their non-test files.
func packages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Dir,Imports", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	return pkgs
}

func rel(p goPackage) string { return strings.TrimPrefix(p.ImportPath, module+"/") }

// isTestHelper says whether a package exists only for tests (apptest, storetest,
// selltest is also the sandbox make run serves, so it is not one).
func isTestHelper(r string) bool {
	return strings.HasSuffix(r, "/apptest") || strings.HasSuffix(r, "/storetest")
}

// isWiring says whether a package assembles the product rather than ships a rule of
// it: the functions, infra/ (the local stack and its tools) and the test helpers.
// Only these may import the container or a handler.
func isWiring(r string) bool {
	return strings.HasPrefix(r, "functions/") || strings.HasPrefix(r, "infra/") || isTestHelper(r)
}

// importsUnder returns p's imports whose path starts with any of prefixes.
func importsUnder(p goPackage, prefixes ...string) []string {
	var out []string
	for _, imp := range p.Imports {
		if slices.ContainsFunc(prefixes, func(pre string) bool { return strings.HasPrefix(imp, pre) }) {
			out = append(out, imp)
		}
	}
	return out
}

func TestSharedHoldsOnlyTheFourKindsOfPackage(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir("../shared")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(kinds, e.Name()) {
			t.Errorf("shared/%s: shared/ holds only %v; put the package under the folder of its kind", e.Name(), kinds)
		}
	}
}

func TestEachFunctionServesTheHandlerPackageOfItsName(t *testing.T) {
	t.Parallel()
	fns := map[string]bool{}
	for _, p := range packages(t) {
		r := rel(p)
		if dir, fn := path.Split(r); dir == "functions/" {
			fns[fn] = true
			want := module + "/shared/handler/" + fn
			if !slices.Contains(p.Imports, want) {
				t.Errorf("functions/%s does not import %s", fn, want)
			}
		}
	}
	for _, p := range packages(t) {
		if dir, h := path.Split(rel(p)); dir == "shared/handler/" && !fns[h] {
			t.Errorf("shared/handler/%s has no functions/%s to serve it", h, h)
		}
	}
	if len(fns) != 9 {
		t.Errorf("found %d functions, want the 9 of template.yaml", len(fns))
	}
}

func TestOnlyTheWiringImportsTheContainer(t *testing.T) {
	t.Parallel()
	container := module + "/shared/platform/app"
	for _, p := range packages(t) {
		r := rel(p)
		if !isWiring(r) && slices.Contains(p.Imports, container) {
			t.Errorf("%s imports the container %s; give it the few things it needs instead", r, container)
		}
	}
}

func TestOnlyTheStorePackagesTalkToDynamoDB(t *testing.T) {
	t.Parallel()
	for _, p := range packages(t) {
		r := rel(p)
		if !strings.HasPrefix(r, "shared/") && !strings.HasPrefix(r, "functions/") {
			continue // infra/ is the local stack and its tests, not what ships
		}
		if strings.HasPrefix(r, "shared/adapter/store") {
			continue
		}
		for _, imp := range importsUnder(p, "github.com/aws/aws-sdk-go-v2/service/dynamodb", "github.com/aws/aws-sdk-go-v2/feature/dynamodb") {
			t.Errorf("%s imports %s; ask shared/adapter/store by meaning instead", r, imp)
		}
	}
}

func TestHandlersAreImportedOnlyByTheWiring(t *testing.T) {
	t.Parallel()
	for _, p := range packages(t) {
		r := rel(p)
		if isWiring(r) {
			continue
		}
		for _, imp := range importsUnder(p, module+"/shared/handler/") {
			t.Errorf("%s imports the handler %s; shared rules belong in domain/, not in a function's handler", r, imp)
		}
	}
}

// TestKeyAttributesAreSpelledOnlyInTheStore reads the production Go files of
// shared/ and functions/ for the table's key attribute names as string literals.
func TestKeyAttributesAreSpelledOnlyInTheStore(t *testing.T) {
	t.Parallel()
	for _, p := range packages(t) {
		r := rel(p)
		if strings.HasPrefix(r, "shared/adapter/store") || strings.HasPrefix(r, "infra/") || isTestHelper(r) {
			continue
		}
		files, err := os.ReadDir(p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
				continue
			}
			src, err := os.ReadFile(p.Dir + "/" + f.Name())
			if err != nil {
				t.Fatal(err)
			}
			for _, attr := range []string{`"pk"`, `"sk"`} {
				if strings.Contains(string(src), attr) {
					t.Errorf("%s/%s spells the key attribute %s; only shared/adapter/store knows the table's keys", r, f.Name(), attr)
				}
			}
		}
	}
}
