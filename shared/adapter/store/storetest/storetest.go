// Package storetest gives tests a real store: a fresh table on DynamoDB Local, either
// the one named by DYNAMODB_ENDPOINT (make test starts one for the whole run) or one
// this package starts for the test binary and stops in Main.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/sellchat/sellchat/infra/dynamolocal"
	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/settings"
)

var (
	once     sync.Once
	endpoint string
	proc     *dynamolocal.Process
	startErr error
)

// Main runs the package's tests and stops the engine this package started, if any.
// Use it from TestMain: func TestMain(m *testing.M) { storetest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	proc.Stop()
	os.Exit(code)
}

// Endpoint returns a DynamoDB Local endpoint, starting the engine on first use.
func Endpoint(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if endpoint = os.Getenv("DYNAMODB_ENDPOINT"); endpoint != "" {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		proc, startErr = dynamolocal.Start(ctx, dynamolocal.Options{})
		if startErr == nil {
			endpoint = proc.Endpoint
		}
	})
	if startErr != nil {
		t.Fatalf("DynamoDB Local: %v", startErr)
	}
	return endpoint
}

// OwnEngine starts a DynamoDB Local for t alone and returns its endpoint and a
// function that stops it (called when t ends, if not before): for a benchmark that
// compares runs. The engine slows down for good once a table of it held a few
// thousand items, even after the table is deleted (storing 1,500 chats took 12 s on
// a fresh engine and 36 s on one whose earlier table had held as many), so a run on
// the shared engine pays for the runs before it.
func OwnEngine(t testing.TB) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatalf("DynamoDB Local of its own: %v", err)
	}
	t.Cleanup(p.Stop)
	return p.Endpoint, p.Stop
}

// Client returns a DynamoDB client for the test engine.
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	return clientAt(t, Endpoint(t))
}

func clientAt(t testing.TB, endpoint string) *dynamodb.Client {
	t.Helper()
	// Setting tables up is not a request: a CreateTable on an engine shared by a
	// whole parallel test run may take longer than a request's DynamoDB deadline.
	db, err := store.NewClientWith(context.Background(), "us-east-1", endpoint, store.Timeouts{Attempt: time.Minute, Operation: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// New returns a store over a new, empty table that is dropped when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	return NewAt(t, Endpoint(t))
}

// NewAt is New on the engine at endpoint (OwnEngine's).
func NewAt(t testing.TB, endpoint string) *store.Store {
	t.Helper()
	s := store.New(clientAt(t, endpoint), TableName())
	if err := s.CreateTable(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = s.Client().DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: ptr(s.Table())})
	})
	return s
}

// TableName returns a unique table name, so tests sharing one engine never meet.
func TableName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("test-%s", hex.EncodeToString(b[:]))
}

// Snapshot returns every item in the table, for tests that prove nothing changed.
func Snapshot(t testing.TB, s *store.Store) []map[string]any {
	t.Helper()
	var items []map[string]any
	p := dynamodb.NewScanPaginator(s.Client(), &dynamodb.ScanInput{TableName: ptr(s.Table()), ConsistentRead: ptr(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			items = append(items, toPlain(it))
		}
	}
	return items
}

// ChangeSettings changes account's settings as an admin's save would: it reads them
// (the defaults before the first save), lets change edit them and saves them at the
// version read. Tests that need a setting in place share this read-edit-save instead
// of each writing the versioned save out.
func ChangeSettings(t testing.TB, s *store.Store, account string, change func(*settings.Settings)) {
	t.Helper()
	ctx := context.Background()
	st, v, err := s.Settings(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	change(&st)
	if _, err := s.SaveSettings(ctx, account, st, v); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
