// Command sellsandbox serves the Sell sandbox (package selltest) with the
// demo seed on 127.0.0.1:$SELL_SANDBOX_PORT (default 8081) for local
// development. See docs/sell-sandbox.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
)

func main() {
	port := os.Getenv("SELL_SANDBOX_PORT")
	if port == "" {
		port = "8081"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		slog.Error("sell sandbox: listen", "port", port, "error", err)
		os.Exit(1)
	}
	sb := selltest.New(selltest.Options{Seed: selltest.DemoSeed()})
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sb.Close()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("sell sandbox: http://%s (OAuth client %s / %s)\n", ln.Addr(), selltest.DefaultClientID, selltest.DefaultClientSecret)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("sell sandbox: serve", "error", err)
		os.Exit(1)
	}
}
