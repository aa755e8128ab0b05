package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

func TestTheBarShowsDoneOfTotalThePaceAndTheTimeLeft(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		b    store.Backlog
		want string
	}{
		{"a drain has measured the pace", store.Backlog{Enqueued: 10000, Drained: 1234, Rate: 9.1},
			"[#.........] 1234/10000  12.3%  9.1 chats/s  ETA 16m"},
		{"no drain has measured it yet", store.Backlog{Enqueued: 40, Drained: 0},
			"[..........] 0/40  0.0%  -- chats/s  ETA --"},
		{"half done", store.Backlog{Enqueued: 8, Drained: 4, Rate: 0.5},
			"[#####.....] 4/8  50.0%  0.5 chats/s  ETA 8s"},
		{"more counted drained than queued reads as done", store.Backlog{Enqueued: 3, Drained: 5, Rate: 2},
			"[##########] 3/3  100.0%  2.0 chats/s  ETA 0s"},
		{"the percentage reads 100 only when done", store.Backlog{Enqueued: 10000, Drained: 9999, Rate: 10},
			"[#########.] 9999/10000  99.9%  10.0 chats/s  ETA 0s"},
		{"a backlog with nothing counted in yet", store.Backlog{},
			"[..........] 0/0  0.0%  -- chats/s  ETA --"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := bar(c.b, 10); got != c.want {
				t.Errorf("bar = %q\nwant  %q", got, c.want)
			}
		})
	}
}

func TestTheTimeLeftIsShortAtEveryScale(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		45 * time.Second:                "45s",
		16*time.Minute + 20*time.Second: "16m",
		3*time.Hour + 5*time.Minute:     "3h05m",
		50 * time.Hour:                  "2d02h",
	} {
		if got := short(d); got != want {
			t.Errorf("short(%s) = %q, want %q", d, got, want)
		}
	}
}

// reads gives a backlog per read, then none (the backlog closed).
func reads(bs ...store.Backlog) func(context.Context) (store.Backlog, bool, error) {
	return func(context.Context) (store.Backlog, bool, error) {
		if len(bs) == 0 {
			return store.Backlog{}, false, nil
		}
		b := bs[0]
		bs = bs[1:]
		return b, true, nil
	}
}

func noPause(context.Context) error { return nil }

func TestWatchingDrawsEachReadUntilTheBacklogIsEmpty(t *testing.T) {
	t.Parallel()
	first := store.Backlog{Enqueued: 10000, Drained: 1234, Rate: 9.1}
	second := store.Backlog{Enqueued: 10000, Drained: 10000, Rate: 9.1}
	t.Run("a pipe gets a line per read", func(t *testing.T) {
		var out strings.Builder
		if err := follow(context.Background(), &out, reads(first, second), true, false, noPause); err != nil {
			t.Fatal(err)
		}
		want := bar(first, barWidth) + "\n" + bar(second, barWidth) + "\nbacklog empty\n"
		if out.String() != want {
			t.Errorf("output %q\nwant   %q", out.String(), want)
		}
	})
	t.Run("a terminal sees one line redrawn in place", func(t *testing.T) {
		var out strings.Builder
		if err := follow(context.Background(), &out, reads(first, second), true, true, noPause); err != nil {
			t.Fatal(err)
		}
		want := "\r" + bar(first, barWidth) + "\r" + bar(second, barWidth) + "\nbacklog empty\n"
		if out.String() != want {
			t.Errorf("output %q\nwant   %q", out.String(), want)
		}
	})
	t.Run("a shorter line covers the longer one before it", func(t *testing.T) {
		long := store.Backlog{Enqueued: 10000, Drained: 5, Rate: 0.5} // ETA 5h33m
		short := store.Backlog{Enqueued: 10, Drained: 9, Rate: 0.5}   // ETA 2s
		var out strings.Builder
		if err := follow(context.Background(), &out, reads(long, short), true, true, noPause); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\nbacklog empty\n"), "\r")
		if len(lines) != 3 || len(lines[2]) != len(lines[1]) || len(bar(short, barWidth)) >= len(lines[1]) {
			t.Errorf("redraws %q: the second should be padded to the first's width", lines)
		}
	})
}

func TestWithoutWatchTheBacklogIsDrawnOnce(t *testing.T) {
	t.Parallel()
	b := store.Backlog{Enqueued: 4, Drained: 1}
	var out strings.Builder
	if err := follow(context.Background(), &out, reads(b, b), false, true, noPause); err != nil {
		t.Fatal(err)
	}
	if out.String() != bar(b, barWidth)+"\n" {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	if err := follow(context.Background(), &out, reads(), false, false, noPause); err != nil || out.String() != "backlog empty\n" {
		t.Errorf("with no backlog: %q, %v", out.String(), err)
	}
}

func TestAReadErrorEndsTheWatchWithIt(t *testing.T) {
	t.Parallel()
	boom := errors.New("throttled")
	var out strings.Builder
	err := follow(context.Background(), &out, func(context.Context) (store.Backlog, bool, error) { return store.Backlog{}, false, boom }, true, true, noPause)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read's", err)
	}
}
