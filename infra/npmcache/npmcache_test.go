package npmcache_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sellchat/sellchat/infra/npmcache"
)

// TestATarballWhoseHashIsNotThePinnedOneIsRefused fetches a small real package with
// a wrong pin: the tarball is downloaded, and refused.
func TestATarballWhoseHashIsNotThePinnedOneIsRefused(t *testing.T) {
	t.Parallel()
	_, err := npmcache.Pack(context.Background(), "zendesk_app_framework_sdk", "2.0.11", strings.Repeat("0", 64), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "unverified") {
		t.Fatalf("a wrong pin gave %v, want a refusal", err)
	}
}

func TestTheCacheIsWhereSellchatCacheSays(t *testing.T) {
	t.Setenv("SELLCHAT_CACHE", "/tmp/somewhere")
	if got, err := npmcache.Root(); err != nil || got != "/tmp/somewhere" {
		t.Fatalf("Root() = %q, %v", got, err)
	}
}
