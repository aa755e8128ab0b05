// Package zafsdk fetches the Zendesk apps framework's SDK (ZAFClient) for the local
// stack and the browser tests, whose gateway serves it at /vendor/zaf_sdk.js
// (webpage.LocalZAFSDKPath). In production the pages load Zendesk's own copy from its
// CDN (webpage.ZAFSDKURL); nothing here is deployed.
//
// The SDK comes from the npm package zendesk_app_framework_sdk, pinned by version and
// by the tarball's sha256 and cached under .cache/ (beside DynamoDB Local), so a fresh
// machine needs only npm. That package ships the SDK's lib/ sources as CommonJS
// modules, not the built zaf_sdk.min.js of the CDN: Bundle joins them into one browser
// script that defines window.ZAFClient, as the upstream build does (Gruntfile.js:
// gluejs over lib/, export ZAFClient).
package zafsdk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/sellchat/sellchat/infra/npmcache"
)

// The pinned SDK. Bump all three together; the sha256 is of the npm tarball. 2.0.11
// is the newest release on npm (its client.js reports itself as 2.0.9 in the
// handshake); the CDN serves newer 2.0 patches that speak the same protocol
// (docs/zendesk-sandbox.md, "The host page").
const (
	npmPackage = "zendesk_app_framework_sdk"
	Version    = "2.0.11"
	tarballSHA = "60ed91410cba453ba45d5617b5bf93e638c41aca3e6d6666c78edbc567573415"
)

// FileName is the bundle's name in the cache.
const FileName = "zaf_sdk.js"

// Path returns where the bundle is cached: zaf-sdk/<Version>/zaf_sdk.js in the
// project's cache (npmcache.Root), beside DynamoDB Local.
func Path() (string, error) {
	base, err := npmcache.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "zaf-sdk", Version, FileName), nil
}

// Fetch makes sure the bundle is cached and returns its path. The bundle is one small
// file written under a temporary name and renamed into place, so a reader never sees
// half of it and concurrent fetchers (parallel test packages) at worst both write the
// same bytes.
func Fetch(ctx context.Context) (string, error) {
	dest, err := Path()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	tgz, err := npmPack(ctx)
	if err != nil {
		return "", err
	}
	js, err := Bundle(tgz)
	if err != nil {
		return "", fmt.Errorf("bundle %s@%s: %w", npmPackage, Version, err)
	}
	if err := writeAtomically(dest, js); err != nil {
		return "", fmt.Errorf("cache the ZAF SDK: %w", err)
	}
	return dest, nil
}

// npmPack downloads the pinned, verified tarball with npm and returns its bytes.
func npmPack(ctx context.Context) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "zafsdk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	tarball, err := npmcache.Pack(ctx, npmPackage, Version, tarballSHA, tmp)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(tarball)
}

func writeAtomically(dest string, body []byte) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dest), ".fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone after the rename; cleans up after a failure
	if _, err := f.Write(body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), dest)
}

// entry is the module the bundle exports as window.ZAFClient (package.json "main").
const entry = "index.js"

// requireCall finds the modules a source asks for: require('./client').
var requireCall = regexp.MustCompile(`require\(\s*['"]([^'"]+)['"]\s*\)`)

// Bundle joins the .js files under package/lib/ of the npm tarball tgz into one
// browser script: each file becomes a CommonJS module (module, exports, require, with
// this = exports), its relative requires resolved when bundling, and the script ends
// by setting window.ZAFClient to lib/index.js's exports. A require that names no file
// of lib/ is an error, so a new release that needs something else fails here rather
// than in a browser.
func Bundle(tgz []byte) ([]byte, error) {
	mods, err := libSources(tgz)
	if err != nil {
		return nil, err
	}
	if _, ok := mods[entry]; !ok {
		return nil, fmt.Errorf("the tarball has no package/lib/%s", entry)
	}
	ids := make([]string, 0, len(mods))
	for id := range mods {
		ids = append(ids, id)
	}
	sort.Strings(ids) // the same tarball gives the same bytes
	var b bytes.Buffer
	fmt.Fprintf(&b, "/*! %s %s (c) Zendesk, Apache License 2.0 (see the package's LICENSE).\n", npmPackage, Version)
	b.WriteString("    Its lib/ modules joined into one script by sellchat's infra/zafsdk; defines window.ZAFClient. */\n")
	b.WriteString("(function (window) {\n  var defs = {}, cache = {};\n")
	for _, id := range ids {
		deps, err := resolveRequires(id, mods)
		if err != nil {
			return nil, err
		}
		name, _ := json.Marshal(id)
		table, _ := json.Marshal(deps)
		fmt.Fprintf(&b, "  defs[%s] = [function (module, exports, require) {\n%s\n}, %s];\n", name, mods[id], table)
	}
	b.WriteString(loaderJS)
	return b.Bytes(), nil
}

// loaderJS runs the modules: each once, on its first require.
const loaderJS = `  function load(id) {
    if (cache[id]) { return cache[id].exports; }
    var module = cache[id] = { exports: {} }, def = defs[id];
    def[0].call(module.exports, module, module.exports, function (name) {
      if (!Object.prototype.hasOwnProperty.call(def[1], name)) { throw new Error("zaf_sdk: " + id + " requires unknown " + name); }
      return load(def[1][name]);
    });
    return module.exports;
  }
  window.ZAFClient = load("` + entry + `");
})(window);
`

// libSources returns the text of each package/lib/**/*.js in tgz, keyed by its path
// under lib/.
func libSources(tgz []byte) (map[string]string, error) {
	gz, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("read the tarball: %w", err)
	}
	tr := tar.NewReader(gz)
	mods := map[string]string{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return mods, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read the tarball: %w", err)
		}
		rel, ok := strings.CutPrefix(hdr.Name, "package/lib/")
		if !ok || hdr.Typeflag != tar.TypeReg || path.Ext(rel) != ".js" || path.Clean(rel) != rel || strings.HasPrefix(rel, "../") {
			continue
		}
		src, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", hdr.Name, err)
		}
		mods[rel] = string(src)
	}
}

// resolveRequires maps each require in module id to the module it names.
func resolveRequires(id string, mods map[string]string) (map[string]string, error) {
	deps := map[string]string{}
	for _, m := range requireCall.FindAllStringSubmatch(mods[id], -1) {
		name := m[1]
		if !strings.HasPrefix(name, "./") && !strings.HasPrefix(name, "../") {
			return nil, fmt.Errorf("lib/%s requires %q, which is not a file of lib/", id, name)
		}
		target := path.Join(path.Dir(id), name)
		if path.Ext(target) != ".js" {
			target += ".js"
		}
		if _, ok := mods[target]; !ok {
			return nil, fmt.Errorf("lib/%s requires %q: no lib/%s in the tarball", id, name, target)
		}
		deps[name] = target
	}
	return deps, nil
}
