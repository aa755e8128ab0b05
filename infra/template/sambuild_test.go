package template_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// With BuildMethod: makefile, `sam build` runs `make build-<LogicalId>` in the
// function's CodeUri with ARTIFACTS_DIR set, and ships what lands there. This test
// runs exactly that for every function resource of template.yaml (SAM itself is not
// on the machine) and checks that each build leaves a static arm64 executable named
// bootstrap, as provided.al2023 on arm64 loads it.
func TestSamBuildsEveryFunctionWithTheMakefile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	tmpl := load(t)
	var ids []string
	for id := range tmpl.GetAllServerlessFunctionResources() {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fn := tmpl.GetAllServerlessFunctionResources()[id]
		t.Run(id, func(t *testing.T) {
			if fn.CodeUri == nil || fn.CodeUri.String == nil {
				t.Fatalf("%s has no CodeUri", id)
			}
			artifacts := t.TempDir()
			cmd := exec.Command("make", "--no-print-directory", "build-"+id)
			cmd.Dir = filepath.Join("..", "..", *fn.CodeUri.String)
			cmd.Env = append(withoutARCH(os.Environ()), "ARTIFACTS_DIR="+artifacts)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", id, err, out)
			}
			bin := filepath.Join(artifacts, "bootstrap")
			info, err := os.Stat(bin)
			if err != nil {
				t.Fatalf("no bootstrap in the artifacts: %v", err)
			}
			if info.Mode().Perm()&0o111 == 0 {
				t.Errorf("bootstrap is not executable: %v", info.Mode())
			}
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatalf("bootstrap is not an ELF executable: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
				t.Errorf("bootstrap is %v %v, want an arm64 executable", f.Machine, f.Type)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("bootstrap asks for a dynamic loader: it must be static (CGO off)")
				}
			}
		})
	}
}

// withoutARCH drops an ARCH the developer may have exported for make build: sam
// build sets none, so the Makefile's default (the template's arm64) must hold.
func withoutARCH(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "ARCH=") {
			out = append(out, kv)
		}
	}
	return out
}
