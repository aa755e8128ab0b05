package zafsdk_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/infra/zafsdk"
)

// tarball packs files (path → text) as npm does, under package/.
func tarball(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: "package/" + name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// node runs script with node and returns what it printed; the test is skipped
// without node (npm, which make setup needs, brings it).
func node(t *testing.T, script string) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	out, err := exec.Command(bin, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestBundleJoinsLibModulesAndExportsTheEntryAsZAFClient(t *testing.T) {
	js, err := zafsdk.Bundle(tarball(t, map[string]string{
		"package.json":  `{"main":"lib/index.js"}`,
		"lib/index.js":  "var client = require('./client'), again = require(\"./client\");\nmodule.exports = { init: function () { return client.hello + (client === again ? ' once' : ' twice'); } };",
		"lib/client.js": "var word = require('./vendor/word');\nexports.hello = 'hi ' + word + (this === exports ? '' : ' (this is not exports)');",
		// A module ending in a line comment must not swallow the wrapper's brace.
		"lib/vendor/word.js": "module.exports = 'there'; // no newline after me",
		"spec/index_spec.js": "require('chai')", // outside lib/: not bundled
	}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "chai") {
		t.Error("a file outside lib/ was bundled")
	}
	if got := node(t, "var window = {};\n"+string(js)+"\nconsole.log(window.ZAFClient.init());"); got != "hi there once" {
		t.Errorf("the bundle's ZAFClient.init() = %q, want %q", got, "hi there once")
	}
}

func TestBundleRefusesWhatItCannotResolve(t *testing.T) {
	cases := map[string]map[string]string{
		"no entry":              {"lib/client.js": "module.exports = 1;"},
		"a missing file":        {"lib/index.js": "require('./gone')"},
		"a package, not a file": {"lib/index.js": "var v = require('version');"},
		"a file outside lib":    {"lib/index.js": "require('../package.json')"},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			if js, err := zafsdk.Bundle(tarball(t, files)); err == nil {
				t.Fatalf("bundled:\n%s", js)
			}
		})
	}
	if _, err := zafsdk.Bundle([]byte("not gzip")); err == nil {
		t.Error("a broken tarball was accepted")
	}
}

// TestFetchCachesThePinnedSDK fetches the real package (once per cache: make setup
// does it first) and checks that the bundle is the SDK the pages and the sandbox's
// host page speak to: ZAFClient.init reads origin and app_guid and says
// iframe.handshake.
func TestFetchCachesThePinnedSDK(t *testing.T) {
	p, err := zafsdk.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := zafsdk.Path()
	if p != want || filepath.Base(p) != zafsdk.FileName || !strings.Contains(p, zafsdk.Version) {
		t.Errorf("Fetch gave %s, Path %s", p, want)
	}
	js, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"zendesk_app_framework_sdk " + zafsdk.Version, "window.ZAFClient = load(", "iframe.handshake", "app_guid", "zaf\\."} {
		if !strings.Contains(string(js), s) {
			t.Errorf("the bundle lacks %q", s)
		}
	}
	again, err := zafsdk.Fetch(context.Background())
	if err != nil || again != p {
		t.Errorf("a second Fetch: %s, %v", again, err)
	}
	// Without a Zendesk parent (no origin in the URL) init declines, as the pages expect.
	got := node(t, "var window = {}, document = {location: {search: '', hash: ''}};\n"+string(js)+"\nconsole.log(window.ZAFClient.init());")
	if got != "false" {
		t.Errorf("ZAFClient.init() without origin = %s, want false", got)
	}
}
