package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/sellchat/sellchat/shared/adapter/sell"
	"github.com/sellchat/sellchat/shared/domain/settings"
	"github.com/sellchat/sellchat/shared/platform/httpx"
)

// needsSell reports whether a settings patch sets a value only Sell can vouch for.
// Clearing the source or the owners needs no Sell, so an admin can always undo.
func needsSell(patch map[string]json.RawMessage, next settings.Settings) bool {
	_, status := patch["leadStatus"]
	_, source := patch["leadSourceId"]
	_, owners := patch["owners"]
	return status || (source && next.LeadSourceID != nil) || (owners && len(next.Owners) > 0)
}

// checkAgainstSell checks the Sell-backed fields present in patch against the
// account's Sell: the lead status and source must exist, a user owner must be an
// active Sell user that is not a marked pool, a pool owner a marked pool whose
// phantom user still exists. It writes Sell's spelling of the status into next.
func (h *handler) checkAgainstSell(ctx context.Context, account string, patch map[string]json.RawMessage, next *settings.Settings) error {
	if !needsSell(patch, *next) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, sellTimeout)
	defer cancel()
	s, err := h.sell(ctx, account)
	if err != nil {
		return err
	}
	if _, ok := patch["leadStatus"]; ok {
		statuses, err := s.client.LeadStatuses(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		found := false
		for _, st := range statuses {
			if strings.EqualFold(st.Name, next.LeadStatus) {
				next.LeadStatus, found = st.Name, true
				break
			}
		}
		if !found {
			return httpx.Invalid("leadStatus", "unknown_lead_status", fmt.Sprintf("Sell has no lead status %q; pick one of the account's lead statuses.", next.LeadStatus))
		}
	}
	if _, ok := patch["leadSourceId"]; ok && next.LeadSourceID != nil {
		sources, err := s.client.LeadSources(ctx)
		if err != nil {
			return s.fail(ctx, err)
		}
		found := false
		for _, src := range sources {
			found = found || src.ID == *next.LeadSourceID
		}
		if !found {
			return httpx.Invalid("leadSourceId", "unknown_lead_source", "Sell has no lead source with this id; pick one of the account's lead sources or create one.")
		}
	}
	if _, ok := patch["owners"]; ok && len(next.Owners) > 0 {
		return h.checkOwners(ctx, s, next.Owners)
	}
	return nil
}

func (h *handler) checkOwners(ctx context.Context, s *sellSession, owners []settings.Owner) error {
	users, err := s.client.Users(ctx)
	if err != nil {
		return s.fail(ctx, err)
	}
	byID := make(map[int64]sell.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	marked, err := h.markedPools(ctx, s.account)
	if err != nil {
		return err
	}
	for i, o := range owners {
		u, exists := byID[o.ID]
		idField := fmt.Sprintf("owners[%d].id", i)
		switch o.Type {
		case settings.OwnerUser:
			switch {
			case !exists:
				return httpx.Invalid(idField, "unknown_user", fmt.Sprintf("Sell has no user %d.", o.ID))
			case marked[o.ID]:
				return httpx.Invalid(fmt.Sprintf("owners[%d].type", i), "is_pool", fmt.Sprintf("%s is a distribution pool; add it as a pool, not a user.", u.Name))
			case !u.IsActive():
				return httpx.Invalid(idField, "inactive_user", fmt.Sprintf("%s is not an active Sell user and cannot own leads.", u.Name))
			}
		case settings.OwnerPool:
			switch {
			case !marked[o.ID]:
				return httpx.Invalid(idField, "not_a_pool", fmt.Sprintf("Sell user %d is not marked as a pool; mark it under Pools first.", o.ID))
			case !exists:
				return httpx.Invalid(idField, "unknown_user", fmt.Sprintf("The pool's Sell user %d no longer exists in Sell.", o.ID))
			}
		}
	}
	return nil
}

// errPoolInUse answers an unmark of a pool that is one of the owners.
var errPoolInUse = &httpx.Error{Status: http.StatusConflict, Code: "pool_in_use",
	Message: "This pool is one of the lead owners. Remove it from Owners before unmarking it."}
