package dynamolocal_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sellchat/sellchat/infra/dynamolocal"
)

// A CI run once failed with CreateTable answered "401" by a stranger: another test's
// server had taken the engine's port before Java bound it, and any answer counted as
// ready. An engine that cannot have its port is an error, never a stranger's endpoint.
func TestAnEngineWhosePortIsTakenIsNotReportedReady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Java")
	}
	stranger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
	}))
	defer stranger.Close()
	_, portText, _ := net.SplitHostPort(stranger.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	p, err := dynamolocal.Start(context.Background(), dynamolocal.Options{Port: port})
	if err == nil {
		p.Stop()
		t.Fatalf("Start on a port a stranger holds reported ready at %s", p.Endpoint)
	}
	if !errors.Is(err, dynamolocal.ErrLostPort) {
		t.Fatalf("Start: %v, want the lost-port error", err)
	}
}

// With no port given, the engine picks one of its own and is found there.
func TestAnEngineStartedOnAnyPortAnswersAsDynamoDB(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Java")
	}
	p, err := dynamolocal.Start(context.Background(), dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	u, _ := net.ResolveTCPAddr("tcp", p.Endpoint[len("http://"):])
	if u.Port >= 32768 {
		t.Errorf("the engine listens on %d, inside the kernel's ephemeral range", u.Port)
	}
}
