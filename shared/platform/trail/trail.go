// Package trail records an admin's change in the account's audit trail
// (store.RecordAudit), naming the request's caller and request id. It is called after
// the change succeeded: a change that failed changed nothing and is not recorded.
package trail

import (
	"context"
	"errors"
	"net/http"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// Record records action on target with changes, by r's caller in r's account. The
// write is tried twice; a failure is logged, not answered: the change itself is done,
// and answering an error would make the admin repeat it.
func Record(r *http.Request, s *store.Store, action, target string, changes map[string]audit.Change) {
	id, _ := auth.From(r.Context())
	RecordAs(r.Context(), s, id, action, target, changes)
}

// RecordAs is Record for a caller known otherwise (an OAuth callback, where the
// session is not on the request but in the state it stored).
func RecordAs(ctx context.Context, s *store.Store, id auth.Identity, action, target string, changes map[string]audit.Change) {
	e := audit.Entry{Actor: audit.Actor{UserID: id.UserID, Email: id.Email, Role: string(id.Role)}, Action: action,
		Target: target, Changes: changes, RequestID: httpx.RequestID(ctx)}
	var err error
	for range 2 {
		// The second try keeps the first's id: if the first was written after all,
		// the second finds it there instead of writing the entry twice.
		if e, err = s.RecordAudit(context.WithoutCancel(ctx), id.Account, e); err == nil || errors.Is(err, store.ErrExists) {
			return
		}
	}
	httpx.LoggerFrom(ctx).Error("audit entry not recorded", "action", action, "target", target, "err", err.Error())
}
