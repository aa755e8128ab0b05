// Command zafsdk fetches (when missing) and verifies the pinned Zendesk apps framework
// SDK that the local stack's gateway serves at /vendor/zaf_sdk.js, and prints where it
// is cached. make setup runs it, as it fetches DynamoDB Local.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sellchat/sellchat/infra/zafsdk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := zafsdk.Fetch(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zafsdk:", err)
		os.Exit(1)
	}
	fmt.Println("ZAF SDK", zafsdk.Version, "in", p)
}
