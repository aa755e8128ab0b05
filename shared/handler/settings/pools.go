package settings

import (
	"context"
	"errors"
	"fmt"
	"github.com/sellchat/sellchat/shared/domain/audit"
	"github.com/sellchat/sellchat/shared/platform/trail"
	"net/http"
	"strconv"
	"time"

	"github.com/sellchat/sellchat/shared/adapter/store"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/auth"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// poolView is a marked pool as the page lists it; InUse says it is one of the owners
// (and so cannot be unmarked).
type poolView struct {
	SellUserID int64     `json:"sellUserId"`
	Name       string    `json:"name"`
	MarkedAt   time.Time `json:"markedAt,omitzero"`
	InUse      bool      `json:"inUse"`
}

func (h *handler) poolViews(ctx context.Context, account string) ([]poolView, error) {
	pools, err := h.deps.Store.Pools(ctx, account)
	if err != nil {
		return nil, err
	}
	st, _, err := h.deps.Store.Settings(ctx, account)
	if err != nil {
		return nil, err
	}
	out := make([]poolView, 0, len(pools))
	for _, p := range pools {
		out = append(out, poolView{SellUserID: p.SellUserID, Name: p.Name, MarkedAt: p.MarkedAt, InUse: st.UsesPool(p.SellUserID)})
	}
	return out, nil
}

// writePools answers with the account's pools, as GET /pools lists them.
func (h *handler) writePools(ctx context.Context, w http.ResponseWriter, account string) error {
	views, err := h.poolViews(ctx, account)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"pools": views})
	return nil
}

// markedPools returns the Sell user ids the account marked as pools.
func (h *handler) markedPools(ctx context.Context, account string) (map[int64]bool, error) {
	pools, err := h.deps.Store.Pools(ctx, account)
	if err != nil {
		return nil, err
	}
	marked := make(map[int64]bool, len(pools))
	for _, p := range pools {
		marked[p.SellUserID] = true
	}
	return marked, nil
}

func (h *handler) getPools(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	return h.writePools(r.Context(), w, id.Account)
}

// poolID reads the path's Sell user id.
func poolID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("sellUserId"), 10, 64)
	if err != nil || id <= 0 {
		return 0, httpx.Invalid("sellUserId", "invalid_value", "The path must end with a Sell user's id (a positive number).")
	}
	return id, nil
}

type poolBody struct {
	Name *string `json:"name"`
}

// putPool marks a Sell user as a pool's phantom, or renames the pool. The user must
// exist in Sell and be active (Sell keeps phantoms active), and must not be a user
// owner: a user cannot be both a person owning leads and a pool.
func (h *handler) putPool(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	userID, err := poolID(r)
	if err != nil {
		return err
	}
	raw, err := decodeRequired(r, "name", "how the pool is shown to admins and agents.",
		func(b poolBody) *string { return b.Name })
	if err != nil {
		return err
	}
	name, err := settings.PoolName(raw)
	if err != nil {
		return fieldError(err)
	}
	st, _, err := h.deps.Store.Settings(r.Context(), id.Account)
	if err != nil {
		return err
	}
	for _, o := range st.Owners {
		if o.Type == settings.OwnerUser && o.ID == userID {
			return &httpx.Error{Status: http.StatusConflict, Code: "owner_in_use",
				Message: "This Sell user is one of the lead owners as a person. Remove them from Owners before marking them as a pool."}
		}
	}
	return h.withSell(r, func(ctx context.Context, s *sellSession) error {
		users, err := s.client.Users(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		found := false
		for _, u := range users {
			if u.ID != userID {
				continue
			}
			found = true
			if !u.IsActive() {
				return httpx.Invalid("sellUserId", "inactive_user", fmt.Sprintf("%s is not active in Sell; a pool's user is always active.", u.Name))
			}
		}
		if !found {
			return httpx.Invalid("sellUserId", "unknown_user", fmt.Sprintf("Sell has no user %d.", userID))
		}
		p := settings.Pool{SellUserID: userID, Name: name, MarkedBy: id.UserID, MarkedAt: h.now().UTC()}
		created, err := h.deps.Store.MarkPool(ctx, id.Account, p)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		httpx.LoggerFrom(ctx).Info("pool marked", "by", id.UserID, "sell_user", userID, "new", created)
		trail.Record(r, h.deps.Store, audit.PoolMark, strconv.FormatInt(userID, 10), map[string]audit.Change{"name": {To: p.Name}})
		httpx.WriteJSON(w, status, poolView{SellUserID: p.SellUserID, Name: p.Name, MarkedAt: p.MarkedAt, InUse: st.UsesPool(userID)})
		return nil
	})
}

// deletePool unmarks a pool unless it is one of the owners. The check and the delete
// happen under one settings version, so an owner added meanwhile wins.
func (h *handler) deletePool(w http.ResponseWriter, r *http.Request) error {
	id, _ := auth.From(r.Context())
	userID, err := poolID(r)
	if err != nil {
		return err
	}
	const attempts = 5
	for i := 0; i < attempts; i++ {
		st, version, err := h.deps.Store.Settings(r.Context(), id.Account)
		if err != nil {
			return err
		}
		if st.UsesPool(userID) {
			return errPoolInUse
		}
		err = h.deps.Store.UnmarkPool(r.Context(), id.Account, userID, version)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			return &httpx.Error{Status: http.StatusNotFound, Code: "unknown_pool", Message: "This Sell user is not marked as a pool."}
		}
		if err != nil {
			return err
		}
		httpx.LoggerFrom(r.Context()).Info("pool unmarked", "by", id.UserID, "sell_user", userID)
		trail.Record(r, h.deps.Store, audit.PoolUnmark, strconv.FormatInt(userID, 10), nil)
		return h.writePools(r.Context(), w, id.Account)
	}
	return staleVersion(-1)
}
