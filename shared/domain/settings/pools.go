package settings

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Pool is a Sell user the admin marked as a distribution pool's phantom (owner fallback).
// Sell has no pool endpoint: a pool shows in the API only as this user, and a lead
// whose owner is it goes to the pool's next member, by Sell's own rotation.
type Pool struct {
	SellUserID int64     `json:"sellUserId"`
	Name       string    `json:"name"`
	MarkedBy   string    `json:"markedBy,omitempty"` // Zendesk user id
	MarkedAt   time.Time `json:"markedAt,omitzero"`
}

// MaxPoolName bounds a pool's name, which only labels it on the page and in pickers.
const MaxPoolName = 100

// PoolName checks and tidies the name an admin gives a pool.
func PoolName(raw string) (string, error) {
	name := strings.Join(strings.Fields(raw), " ")
	if name == "" {
		return "", invalid("name", "required", "Give the pool a name, such as the pool's name in Sell.")
	}
	if utf8.RuneCountInString(name) > MaxPoolName {
		return "", invalid("name", "too_long", "A pool's name has at most %d characters.", MaxPoolName)
	}
	return name, nil
}

// PoolOwners returns the ids of the pools among the owners, in their order.
func (s Settings) PoolOwners() []int64 {
	var ids []int64
	for _, o := range s.Owners {
		if o.Type == OwnerPool {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

// UsesPool reports whether the pool with phantom user id is one of the owners, in
// which case it cannot be unmarked: agents would be offered an owner that is no pool.
func (s Settings) UsesPool(id int64) bool {
	for _, o := range s.Owners {
		if o.Type == OwnerPool && o.ID == id {
			return true
		}
	}
	return false
}
