package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/adapter/store/storetest"
)

var backlogT0 = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

func mustBacklog(t *testing.T, s *store.Store, account string) (store.Backlog, bool) {
	t.Helper()
	b, found, err := s.Backlog(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return b, found
}

func TestABacklogCountsEachChatOnceAndListsItsAccount(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	if _, found := mustBacklog(t, s, "acme"); found {
		t.Fatal("a fresh table has a backlog")
	}
	added, err := s.Enqueue(ctx, "acme", []string{"c1", "c2", "c3"}, backlogT0)
	if err != nil || added != 3 {
		t.Fatalf("Enqueue = %d, %v; want 3", added, err)
	}
	// A redelivered stream record queues the same chat again: it is not counted twice.
	added, err = s.Enqueue(ctx, "acme", []string{"c3", "c4"}, backlogT0.Add(time.Minute))
	if err != nil || added != 1 {
		t.Fatalf("Enqueue again = %d, %v; want 1", added, err)
	}
	b, found := mustBacklog(t, s, "acme")
	if !found || b.Enqueued != 4 || b.Drained != 0 || b.Waiting() != 4 || !b.Since.Equal(backlogT0) {
		t.Fatalf("backlog = %+v, found %v", b, found)
	}
	if _, ok := b.ETA(); ok {
		t.Fatal("an ETA before any drain measured a rate")
	}
	if _, err := s.Enqueue(ctx, "globex", []string{"g1"}, backlogT0); err != nil {
		t.Fatal(err)
	}
	accounts, err := s.BacklogAccounts(ctx)
	if err != nil || !slices.Equal(accounts, []string{"acme", "globex"}) {
		t.Fatalf("BacklogAccounts = %v, %v", accounts, err)
	}
	ids, err := s.QueuedChats(ctx, "acme", 10)
	if err != nil || !slices.Equal(ids, []string{"c1", "c2", "c3", "c4"}) {
		t.Fatalf("QueuedChats = %v, %v", ids, err)
	}
	if ids, _ := s.QueuedChats(ctx, "acme", 2); len(ids) != 2 {
		t.Fatalf("QueuedChats with a limit of 2 = %v", ids)
	}
	if ids, _ := s.QueuedChats(ctx, "globex", 10); !slices.Equal(ids, []string{"g1"}) {
		t.Fatalf("another account's queue = %v", ids)
	}
	if err := s.Dequeue(ctx, "acme", []string{"c1", "c2"}); err != nil {
		t.Fatal(err)
	}
	b, _ = mustBacklog(t, s, "acme")
	if b.Drained != 2 || b.Waiting() != 2 {
		t.Fatalf("after dequeuing two: %+v", b)
	}
	if ids, _ := s.QueuedChats(ctx, "acme", 10); !slices.Equal(ids, []string{"c3", "c4"}) {
		t.Fatalf("left queued: %v", ids)
	}
}

func TestOnlyOneDrainHoldsAnAccountUntilItsLeaseEnds(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	if _, err := s.LeaseBacklog(ctx, "acme", "run-a", backlogT0.Add(time.Minute), backlogT0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("leasing an account with nothing queued: %v, want ErrNotFound", err)
	}
	if _, err := s.Enqueue(ctx, "acme", []string{"c1"}, backlogT0); err != nil {
		t.Fatal(err)
	}
	until := backlogT0.Add(time.Minute)
	if _, err := s.LeaseBacklog(ctx, "acme", "run-a", until, backlogT0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LeaseBacklog(ctx, "acme", "run-b", until, backlogT0.Add(30*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second run took a held lease: %v", err)
	}
	if _, err := s.LeaseBacklog(ctx, "acme", "run-a", until.Add(time.Minute), backlogT0.Add(30*time.Second)); err != nil {
		t.Fatalf("the holder could not extend its lease: %v", err)
	}
	// A run that died leaves its lease to expire; then another takes over.
	if _, err := s.LeaseBacklog(ctx, "acme", "run-b", until.Add(3*time.Minute), until.Add(2*time.Minute)); err != nil {
		t.Fatalf("an expired lease was not taken over: %v", err)
	}
	// The old holder's release must not end the new holder's lease.
	if err := s.ReleaseBacklog(ctx, "acme", "run-a", 5, until.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	b, _ := mustBacklog(t, s, "acme")
	if b.LeaseOwner != "run-b" || b.Rate != 0 {
		t.Fatalf("a stale release changed the backlog: %+v", b)
	}
	end := until.Add(150 * time.Second)
	if err := s.ReleaseBacklog(ctx, "acme", "run-b", 2.5, end); err != nil {
		t.Fatal(err)
	}
	b, _ = mustBacklog(t, s, "acme")
	if b.LeaseOwner != "" || b.Rate != 2.5 || !b.LastDrainAt.Equal(end) {
		t.Fatalf("after the release: %+v", b)
	}
	if eta, ok := b.ETA(); !ok || eta != 400*time.Millisecond {
		t.Fatalf("ETA of 1 chat at 2.5/s = %v, %v", eta, ok)
	}
	if _, err := s.LeaseBacklog(ctx, "acme", "run-c", end.Add(time.Minute), end); err != nil {
		t.Fatalf("a released backlog could not be leased: %v", err)
	}
}

func TestABacklogClosesOnlyWhenNothingWasQueuedSinceTheDrainLooked(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	if _, err := s.Enqueue(ctx, "acme", []string{"c1"}, backlogT0); err != nil {
		t.Fatal(err)
	}
	b, err := s.LeaseBacklog(ctx, "acme", "run-a", backlogT0.Add(time.Minute), backlogT0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Dequeue(ctx, "acme", []string{"c1"}); err != nil {
		t.Fatal(err)
	}
	// A chat arrives after the drain read the counter.
	if _, err := s.Enqueue(ctx, "acme", []string{"c2"}, backlogT0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseBacklog(ctx, "acme", "run-a", b.N); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("closed over a chat queued since: %v", err)
	}
	if err := s.CloseBacklog(ctx, "acme", "run-b", b.N); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a run without the lease closed it: %v", err)
	}
	if err := s.Dequeue(ctx, "acme", []string{"c2"}); err != nil {
		t.Fatal(err)
	}
	b, _ = mustBacklog(t, s, "acme")
	if err := s.CloseBacklog(ctx, "acme", "run-a", b.N); err != nil {
		t.Fatal(err)
	}
	if _, found := mustBacklog(t, s, "acme"); found {
		t.Fatal("still there after the close")
	}
	if accounts, _ := s.BacklogAccounts(ctx); len(accounts) != 0 {
		t.Fatalf("still listed: %v", accounts)
	}
	// The next flood opens a new backlog, counted from nothing.
	later := backlogT0.Add(time.Hour)
	if _, err := s.Enqueue(ctx, "acme", []string{"c3", "c4"}, later); err != nil {
		t.Fatal(err)
	}
	b, found := mustBacklog(t, s, "acme")
	if !found || b.Enqueued != 2 || b.Drained != 0 || !b.Since.Equal(later) || b.LeaseOwner != "" {
		t.Fatalf("the reopened backlog: %+v", b)
	}
}

// The drain may find the queue empty and close the backlog while a chat's put is
// on its way (Enqueue has opened the list item, the put has not landed). Enqueue
// opens the item again after its puts, so the chat is never queued where no drain
// looks. A chat queued already sends Enqueue down its one-put-per-chat path; the
// puts are held at the SDK's middleware until the drain has closed.
func TestAChatQueuedWhileTheDrainClosesTheBacklogStaysListed(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	if _, err := s.Enqueue(ctx, "acme", []string{"c0"}, backlogT0); err != nil {
		t.Fatal(err)
	}
	arrived, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	held := dynamodb.New(s.Client().Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("holdPut", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if _, ok := in.Parameters.(*dynamodb.PutItemInput); ok {
					once.Do(func() { close(arrived) })
					<-gate
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	stream := store.New(held, s.Table())
	enqueued := make(chan error, 1)
	go func() {
		_, err := stream.Enqueue(ctx, "acme", []string{"c0", "c1"}, backlogT0)
		enqueued <- err
	}()
	<-arrived // the list item is open, the chats' puts are held

	b, err := s.LeaseBacklog(ctx, "acme", "run-a", backlogT0.Add(time.Minute), backlogT0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Dequeue(ctx, "acme", []string{"c0"}); err != nil { // c0 processed
		t.Fatal(err)
	}
	if ids, _ := s.QueuedChats(ctx, "acme", 25); len(ids) != 0 {
		t.Fatalf("a held put landed early: %v", ids)
	}
	b, _ = mustBacklog(t, s, "acme") // the count as the drain reads it once the queue looks empty
	if err := s.CloseBacklog(ctx, "acme", "run-a", b.N); err != nil {
		t.Fatalf("the drain could not close what looked empty: %v", err)
	}
	close(gate)
	if err := <-enqueued; err != nil {
		t.Fatal(err)
	}
	if accounts, _ := s.BacklogAccounts(ctx); !slices.Equal(accounts, []string{"acme"}) {
		t.Fatalf("a queued chat's account is not listed for the drain: %v", accounts)
	}
	if ids, _ := s.QueuedChats(ctx, "acme", 25); !slices.Contains(ids, "c1") {
		t.Fatalf("queued: %v", ids)
	}
}

// A flooded account's stream batch is queued in one request, since the other
// accounts' chats on the shard wait for it.
func TestABatchOfNewChatsIsQueuedInOneRequest(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	m := store.NewMeter()
	ctx := store.WithMeter(context.Background(), m)
	ids := make([]string, 25)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%02d", i)
	}
	if added, err := s.Enqueue(ctx, "acme", append(ids, ids[0]), backlogT0); err != nil || added != 25 {
		t.Fatalf("Enqueue = %d, %v", added, err)
	}
	ops := m.Ops()
	if len(ops) != 1 || ops["TransactWriteItems"].Calls != 1 {
		t.Fatalf("queueing 25 chats took %+v, want one TransactWriteItems", ops)
	}
	b, _ := mustBacklog(t, s, "acme")
	if b.Enqueued != 25 || b.Waiting() != 25 {
		t.Fatalf("backlog = %+v", b)
	}
	if queued, _ := s.QueuedChats(ctx, "acme", 100); !slices.Equal(queued, ids) {
		t.Fatalf("queued %v", queued)
	}
}

// A chat the ingest stores straight into the backlog is stored once, marked queued,
// queued and counted; storing it again is refused as Create refuses it, and counts
// nothing.
func TestAChatStoredIntoTheBacklogIsStoredQueuedAndCountedOnce(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	key := store.ChatKey("acme", "q1")
	item := map[string]any{"status": "received"}
	if err := s.CreateQueued(ctx, key, item, time.Time{}, backlogT0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateQueued(ctx, key, item, time.Time{}, backlogT0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("storing it again: %v, want ErrExists", err)
	}
	if err := s.Create(ctx, key, item, time.Time{}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("Create over it: %v, want ErrExists", err)
	}
	b, found := mustBacklog(t, s, "acme")
	if !found || b.Enqueued != 1 || b.Waiting() != 1 {
		t.Fatalf("backlog = %+v, found %v; want one chat waiting", b, found)
	}
	if ids, err := s.QueuedChats(ctx, "acme", 10); err != nil || !slices.Equal(ids, []string{"q1"}) {
		t.Fatalf("QueuedChats = %v, %v", ids, err)
	}
	out, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table()), Key: map[string]types.AttributeValue{
		store.AttrPK: &types.AttributeValueMemberS{Value: "ACCOUNT#acme"}, store.AttrSK: &types.AttributeValueMemberS{Value: "CHAT#q1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := out.Item[store.AttrQueued].(*types.AttributeValueMemberBOOL); !ok || !q.Value {
		t.Fatalf("the stored chat is not marked %q: %v", store.AttrQueued, out.Item)
	}
	// A drain that takes it closes the backlog as for any queued chat.
	if err := s.Dequeue(ctx, "acme", []string{"q1"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := mustBacklog(t, s, "acme"); b.Waiting() != 0 {
		t.Fatalf("after the drain took it: %+v", b)
	}
}

// A page of chats beyond its account's pace is stored into the backlog together:
// five chats a transaction, a chat stored before (or twice in the page) refused
// alone, the others stored, queued and counted once each.
func TestChatsStoredIntoTheBacklogTogetherAreEachStoredQueuedAndCountedOnce(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	m := store.NewMeter()
	ctx := store.WithMeter(context.Background(), m)
	item := map[string]any{"status": "received"}
	if err := s.Create(ctx, store.ChatKey("acme", "p007"), item, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateQueued(ctx, store.ChatKey("acme", "p070"), item, time.Time{}, backlogT0); err != nil {
		t.Fatal(err)
	}
	var page []store.NewChat
	for i := range 120 {
		page = append(page, store.NewChat{Key: store.ChatKey("acme", fmt.Sprintf("p%03d", i)), Item: item})
	}
	page = append(page, page[3])
	before, bumpsBefore := m.Ops()["TransactWriteItems"].Calls, m.Ops()["UpdateItem"].Calls
	errs := s.CreateQueuedAll(ctx, "acme", page, backlogT0)
	for i, err := range errs {
		want := error(nil)
		if i == 7 || i == 70 || i == 120 {
			want = store.ErrExists
		}
		if !errors.Is(err, want) {
			t.Fatalf("chat %d: %v, want %v", i, err, want)
		}
	}
	// 24 transactions of 5; the two that find a chat stored go again without it.
	// The list item is bumped 25 times: before the first, and after each.
	if calls := m.Ops()["TransactWriteItems"].Calls - before; calls != 26 {
		t.Fatalf("%d transactions, want 26", calls)
	}
	if bumps := m.Ops()["UpdateItem"].Calls - bumpsBefore; bumps != 25 {
		t.Fatalf("%d bumps of the list item, want 25", bumps)
	}
	b, _ := mustBacklog(t, s, "acme")
	if b.Enqueued != 119 || b.Waiting() != 119 {
		t.Fatalf("backlog = %+v, want 119 chats waiting (118 of the page and p070)", b)
	}
	queued, err := s.QueuedChats(ctx, "acme", 200)
	if err != nil || len(queued) != 119 || slices.Contains(queued, "p007") {
		t.Fatalf("queued %d chats (%v), want 119 without p007", len(queued), err)
	}
	if errs := s.CreateQueuedAll(ctx, "acme", page[:3], backlogT0); !errors.Is(errs[0], store.ErrExists) || !errors.Is(errs[2], store.ErrExists) {
		t.Fatalf("again: %v", errs)
	}
	if b, _ := mustBacklog(t, s, "acme"); b.Enqueued != 119 {
		t.Fatalf("storing them again counted them again: %+v", b)
	}
}

// Large chats are split over transactions by size, since one transaction takes at
// most 4 MB; another account's key is refused, not written under this one.
func TestLargeChatsStoredTogetherSplitByTheTransactionsSize(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	big := map[string]any{"raw": make([]byte, 300<<10)}
	var page []store.NewChat
	for i := range 16 {
		page = append(page, store.NewChat{Key: store.ChatKey("acme", fmt.Sprintf("big%02d", i)), Item: big, TTL: backlogT0.Add(time.Hour)})
	}
	page = append(page, store.NewChat{Key: store.ChatKey("globex", "big99"), Item: big})
	errs := s.CreateQueuedAll(ctx, "acme", page, backlogT0)
	for i, err := range errs[:16] {
		if err != nil {
			t.Fatalf("chat %d: %v", i, err)
		}
	}
	if errs[16] == nil {
		t.Fatal("another account's chat was stored as acme's")
	}
	if b, _ := mustBacklog(t, s, "acme"); b.Waiting() != 16 {
		t.Fatalf("backlog = %+v, want 16 waiting", b)
	}
	if _, found := mustBacklog(t, s, "globex"); found {
		t.Fatal("globex has a backlog")
	}
}

// Two polls storing the same page at once (a run that overlaps the one before):
// each chat is stored, queued and counted once, whichever of them stores it.
func TestTheSamePageStoredTwiceAtOnceIsStoredAndCountedOnce(t *testing.T) {
	t.Parallel()
	s, ctx := storetest.New(t), context.Background()
	var page []store.NewChat
	for i := range 60 {
		page = append(page, store.NewChat{Key: store.ChatKey("acme", fmt.Sprintf("twice%02d", i)), Item: map[string]any{"status": "received"}})
	}
	var (
		wg   sync.WaitGroup
		errs [2][]error
	)
	for k := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[k] = s.CreateQueuedAll(ctx, "acme", page, backlogT0)
		}()
	}
	wg.Wait()
	stored := 0
	for i := range page {
		a, b := errs[0][i], errs[1][i]
		switch {
		case a == nil && b == nil:
			t.Fatalf("chat %d stored by both", i)
		case a == nil || b == nil:
			stored++
		case !errors.Is(a, store.ErrExists) && !errors.Is(b, store.ErrExists):
			t.Logf("chat %d stored by neither (%v; %v): the next run stores it", i, a, b)
		}
	}
	b, _ := mustBacklog(t, s, "acme")
	queued, err := s.QueuedChats(ctx, "acme", 100)
	if err != nil || int64(len(queued)) != b.Enqueued || b.Enqueued != int64(stored) {
		t.Fatalf("%d stored, %d queued (%v), backlog %+v: want each counted once", stored, len(queued), err, b)
	}
	if stored < len(page)/2 {
		t.Fatalf("only %d of %d stored", stored, len(page))
	}
}
