// Command backlog draws an account's backlog (its chats waiting for Sell's pace:
// docs/chat-history.md, "Sell's pace") as a progress bar, once or, with -watch,
// every 2 s until the backlog is empty:
//
//	go run ./infra/cmd/backlog -account acme -watch
//
// Configuration: with TABLE_NAME set, the table in AWS (AWS_REGION, the AWS_*
// credentials, DYNAMODB_ENDPOINT optional); otherwise the table of `make run`'s
// DynamoDB Local on DYNAMODB_PORT, which must be running. It only reads.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/store"
)

// every is how often -watch reads the backlog again.
const every = 2 * time.Second

func main() {
	account := flag.String("account", "", "the account (Zendesk subdomain) whose backlog to draw")
	watch := flag.Bool("watch", false, "redraw every 2 s until the backlog is empty")
	flag.Parse()
	if *account == "" {
		fmt.Fprintln(os.Stderr, "backlog: -account is required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	s, err := open(ctx)
	if err == nil {
		read := func(ctx context.Context) (store.Backlog, bool, error) { return s.Backlog(ctx, *account) }
		err = follow(ctx, os.Stdout, read, *watch, terminal(os.Stdout), pause)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backlog:", err)
		os.Exit(1)
	}
}

// open is the table in AWS when TABLE_NAME is set, else the local stack's.
func open(ctx context.Context) (*store.Store, error) {
	if table := os.Getenv("TABLE_NAME"); table != "" {
		db, err := store.NewClient(ctx, envOr("AWS_REGION", "us-east-1"), os.Getenv("DYNAMODB_ENDPOINT"))
		if err != nil {
			return nil, err
		}
		return store.New(db, table), nil
	}
	db, err := store.NewClient(ctx, "us-east-1", "http://127.0.0.1:"+envOr("DYNAMODB_PORT", "8000"))
	if err != nil {
		return nil, err
	}
	return store.New(db, "sellchat"), nil // localstack.TableName, without the stack's imports
}

// terminal is true when f is a terminal, where the bar redraws in place.
func terminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func pause(ctx context.Context) error { return sell.Sleep(ctx, every) }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
