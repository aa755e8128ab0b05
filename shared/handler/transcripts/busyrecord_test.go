package transcripts_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/phone"
	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/adapter/sell/selltest"
	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/domain/chats"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/handler/transcripts"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// A note whose answer was lost (Sell made it, the worker heard a 502) is looked for
// before another is made. On a busy record the search must reach back past more than
// a thousand newer notes: the soak (infra/soak) found doubled notes on a contact
// with 1,600 chats when replay searched only the newest 1,000.
func TestALostNoteOnABusyRecordIsFoundNotDuplicated(t *testing.T) {
	t.Parallel()
	const newer = 1050
	env := apptest.New(t)
	var sellNow atomic.Pointer[time.Time]
	now := time.Now().UTC()
	sellNow.Store(&now)
	sb := selltest.NewServer(selltest.Options{RateLimit: -1, Now: func() time.Time { return *sellNow.Load() }})
	t.Cleanup(sb.Close)
	ctx := context.Background()
	if _, err := env.Deps.Store.UpdateIntegration(ctx, "acme", func(in *settings.Integration) error {
		in.SellConnected = true
		in.Elements = map[settings.Element]settings.ElementState{settings.ChatHistoryInSell: {Enabled: true}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p := transcripts.NewWith(env.TranscriptsDeps(), transcripts.Options{Sell: fastSell(sb), ReadPhone: phone.E164, Backoff: func(int) time.Duration { return time.Millisecond }})
	body := chatJSON("c-busy", "paul@acme.example", "", start)
	id := storeChat(t, env, "acme", body)
	c, _ := chats.Parse([]byte(body))
	cs := chatstore.New(env.Deps.Store)
	it, _ := cs.Chat(ctx, "acme", id)
	rec := chats.Record{Type: "contact", ID: selltest.DemoPaulContactID}
	e := chatstore.NewEntry(rec, c, it.Start, time.Now())
	if err := cs.CreateEntry(ctx, "acme", e); err != nil {
		t.Fatal(err)
	}
	// A worker claimed the entry and made the note; Sell's answer never came back.
	if _, err := cs.ClaimNote(ctx, "acme", e.SK, "unlucky-worker", time.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	client, err := fastSell(sb)(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	lost, err := client.CreateNote(ctx, sell.NewNote{ResourceType: "contact", ResourceID: selltest.DemoPaulContactID, Content: chats.NoteContent(c)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.ReleaseNote(ctx, "acme", e.SK, "unlucky-worker", false); err != nil {
		t.Fatal(err)
	}
	// Later, more than a thousand other chats' notes land on the same record.
	later := now.Add(10 * time.Minute)
	sellNow.Store(&later)
	var wg sync.WaitGroup
	errs := make(chan error, newer)
	sem := make(chan struct{}, 16)
	for i := range newer {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := client.CreateNote(ctx, sell.NewNote{ResourceType: "contact", ResourceID: selltest.DemoPaulContactID, Content: fmt.Sprintf("other chat %d", i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// The replay (or the stream's retry) brings the chat up to date.
	if err := p.Process(ctx, "acme", id); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.Entry(ctx, "acme", e.SK)
	if n := notesFor(sb, id)[fmt.Sprintf("contact:%d", selltest.DemoPaulContactID)]; n != 1 || got.NoteID != lost.ID {
		t.Fatalf("%d notes for the chat on the contact, entry records note %d (the lost one is %d)", n, got.NoteID, lost.ID)
	}
}
