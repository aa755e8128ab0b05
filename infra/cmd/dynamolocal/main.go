// Command dynamolocal fetches (when missing) and runs AWS's DynamoDB Local.
//
//	dynamolocal [-port N] [-db-path DIR]            run until Ctrl-C
//	dynamolocal [-port N] -- CMD ARGS...           run CMD with DYNAMODB_ENDPOINT set, then stop
//	dynamolocal -fetch                             only fetch and verify the engine
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/sellchat/sellchat/infra/dynamolocal"
)

func main() {
	port := flag.Int("port", 0, "port to listen on (0: a free one)")
	dbPath := flag.String("db-path", "", "keep data in this folder (default: in memory)")
	fetchOnly := flag.Bool("fetch", false, "fetch and verify the engine, then exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, *port, *dbPath, *fetchOnly, flag.Args()))
}

func run(ctx context.Context, port int, dbPath string, fetchOnly bool, command []string) int {
	if fetchOnly {
		dir, err := dynamolocal.Fetch(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dynamolocal:", err)
			return 1
		}
		fmt.Println("DynamoDB Local", dynamolocal.Version, "in", dir)
		return 0
	}
	p, err := dynamolocal.Start(ctx, dynamolocal.Options{Port: port, DBPath: dbPath})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamolocal:", err)
		return 1
	}
	defer p.Stop()
	if len(command) == 0 {
		fmt.Println("DynamoDB Local on", p.Endpoint, "ready")
		<-ctx.Done()
		return 0
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "DYNAMODB_ENDPOINT="+p.Endpoint)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "dynamolocal:", err)
		return 1
	}
	return 0
}
