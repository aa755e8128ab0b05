package functions_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store/chatstore"
	"github.com/sellchat/sellchat/shared/adapter/zendesk/zendesktest"
	"github.com/sellchat/sellchat/shared/handler/chatpoll"
	"github.com/sellchat/sellchat/shared/platform/app/apptest"
)

// scheduledEvent is EventBridge's every-minute event in events/chatpoll, sent by
// TestChatpollBootstrapStoresTheExportsFinishedChats.
const scheduledEvent = "scheduled.json"

func TestChatpollBootstrapStoresTheExportsFinishedChats(t *testing.T) {
	bin := buildBootstraps(t)
	env := apptest.New(t)
	ctx := context.Background()
	env.Connect(t, "acme")
	env.ConnectChat(t, "acme")
	env.SetHistory(t, "acme", true)
	raw, err := os.ReadFile(filepath.Join("..", "events", "chatpoll", scheduledEvent))
	if err != nil {
		t.Fatal(err)
	}
	rt := startBootstrap(t, bin, "chatpoll", env)
	invoke := func() chatpoll.Report {
		t.Helper()
		ictx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		res, err := rt.Invoke(ictx, raw)
		if err != nil || res.Error != nil {
			t.Fatalf("invoke: %v %s", err, res.Error)
		}
		var rep chatpoll.Report
		if err := json.Unmarshal(res.Payload, &rep); err != nil {
			t.Fatalf("%v: %s", err, res.Payload)
		}
		return rep
	}

	// The demo account's three chats of yesterday: two ended chats and an offline
	// message, all older than the export's five minutes.
	if rep := invoke(); rep.Accounts != 1 || rep.Stored != 3 || len(rep.Failed) != 0 {
		t.Fatalf("first run: %+v", rep)
	}
	for _, id := range []string{zendesktest.DemoVeraChatID, zendesktest.DemoLiamChatID, zendesktest.DemoPaulChatID} {
		if _, err := chatstore.New(env.Deps.Store).Chat(ctx, "acme", id); err != nil {
			t.Errorf("chat %s: %v", id, err)
		}
	}
	// The cursor has caught up: the next run stores nothing again.
	if rep := invoke(); rep.Stored != 0 || len(rep.Failed) != 0 {
		t.Fatalf("second run: %+v", rep)
	}
}
