package sandbox_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sandbox"
)

type faults struct{ Latency time.Duration }

func TestInjector(t *testing.T) {
	t.Parallel()
	var in sandbox.Injector[faults] // the zero value is ready
	in.Set(faults{Latency: time.Second})
	in.FailNext(2, 503)
	for i, want := range []int{503, 503, 0} {
		if f, forced := in.Next(); forced != want || f.Latency != time.Second {
			t.Errorf("call %d: %v, %d; want the configuration and %d", i, f, forced, want)
		}
	}
	var other sandbox.Injector[faults]
	if a, b := in.Roll(), other.Roll(); a != b || a < 0 || a >= 1 {
		t.Errorf("rolls %v and %v: every injector rolls the same sequence in [0,1)", a, b)
	}

	r := httptest.NewRequest("GET", "/", nil)
	ctx, cancel := context.WithCancel(r.Context())
	cancel()
	if in.Hold(r.WithContext(ctx), time.Minute) {
		t.Error("Hold outlasted the request")
	}
	in.Close()
	in.Close() // closing twice is harmless
	if in.Hold(r, time.Minute) {
		t.Error("Hold outlasted the sandbox")
	}
}

func TestCallLog(t *testing.T) {
	t.Parallel()
	var l sandbox.CallLog
	l.Add(sandbox.Call{Method: "GET", Path: "/a", Status: 200})
	l.Add(sandbox.Call{Method: "GET", Path: "/a", Status: 503})
	l.Add(sandbox.Call{Method: "POST", Path: "/b"})
	if l.Len() != 3 || l.Count("GET /a") != 2 || l.Counts()["POST /b"] != 1 || l.All()[1].Status != 503 {
		t.Errorf("log %v, counts %v", l.All(), l.Counts())
	}
	l.Reset()
	if l.Len() != 0 || len(l.Counts()) != 0 {
		t.Errorf("after Reset: %v", l.All())
	}
}

func TestStateFile(t *testing.T) {
	t.Parallel()
	type state struct {
		Version int    `json:"version"`
		Name    string `json:"name"`
	}
	path := filepath.Join(t.TempDir(), "state.json")
	var mu sync.Mutex
	current := state{Version: 1, Name: "saved"}
	f := sandbox.NewStateFile(path, "Test sandbox", &mu, func() any { return current })

	var st state
	if found, err := f.Load(&st, 1); found || err != nil {
		t.Fatalf("Load of a missing file = %v, %v", found, err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	if found, err := f.Load(&st, 1); !found || err != nil || st.Name != "saved" {
		t.Fatalf("Load = %v, %v, %+v", found, err, st)
	}
	if _, err := f.Load(&st, 2); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("Load of another version: %v", err)
	}
	if err := os.WriteFile(path, []byte(`{"version":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Load(&st, 1); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of a broken file: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the folder holds %d files; a save leaves no temporary file behind", len(entries))
	}

	none := sandbox.NewStateFile("", "Test sandbox", &mu, func() any { return current })
	if found, err := none.Load(&st, 1); found || err != nil || none.Save() != nil {
		t.Errorf("a sandbox without a state file read or wrote one: %v, %v", found, err)
	}
}
