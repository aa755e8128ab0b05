package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
)

// barWidth is how many characters the bar itself takes.
const barWidth = 30

// bar draws an account's backlog on one line:
//
//	[#########.....................] 1234/10000  12.3%  9.1 chats/s  ETA 16m
//
// The pace and the ETA are the last drain's; before one has measured them they
// read "--".
func bar(b store.Backlog, width int) string {
	total := max(b.Enqueued, 0)
	done := min(max(b.Drained, 0), total)
	filled, pct := 0, 0.0
	if total > 0 {
		filled = int(int64(width) * done / total)
		// Floored, so that 100% means done.
		pct = math.Floor(1000*float64(done)/float64(total)) / 10
	}
	rate, eta := "--", "--"
	if d, ok := b.ETA(); ok {
		rate, eta = fmt.Sprintf("%.1f", b.Rate), short(d)
	}
	return fmt.Sprintf("[%s%s] %d/%d  %.1f%%  %s chats/s  ETA %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total, pct, rate, eta)
}

// short writes a duration as a glance needs it: 45s, 16m, 3h05m, 2d04h.
func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		m := int(d.Round(time.Minute) / time.Minute)
		return fmt.Sprintf("%dh%02dm", m/60, m%60)
	default:
		h := int(d.Round(time.Hour) / time.Hour)
		return fmt.Sprintf("%dd%02dh", h/24, h%24)
	}
}

// follow draws the backlog read by read until it closes, then says "backlog empty";
// without watch it draws it once. A terminal sees one line redrawn in place; a pipe
// or a file gets a line per read, which a log keeps. pause waits between reads.
func follow(ctx context.Context, out io.Writer, read func(context.Context) (store.Backlog, bool, error),
	watch, tty bool, pause func(context.Context) error) error {
	drawn := 0 // the width of the line on screen, which a shorter one must cover
	for {
		b, found, err := read(ctx)
		if err != nil {
			if drawn > 0 {
				fmt.Fprintln(out)
			}
			return err
		}
		if !found {
			if drawn > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "backlog empty")
			return nil
		}
		line := bar(b, barWidth)
		switch {
		case !watch:
			fmt.Fprintln(out, line)
			return nil
		case tty:
			fmt.Fprintf(out, "\r%-*s", drawn, line)
			drawn = max(drawn, len(line))
		default:
			fmt.Fprintln(out, line)
		}
		if err := pause(ctx); err != nil {
			if drawn > 0 {
				fmt.Fprintln(out)
			}
			return nil // interrupted: what was drawn stays
		}
	}
}
