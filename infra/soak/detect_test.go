package soak

import (
	"testing"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

// The history check must see a lost update, or the settings scenario proves nothing.
func TestLostUpdatesSeesASaveAppliedToAStaleRead(t *testing.T) {
	users := []int64{11, 12, 13}
	own := func(ids ...int64) []settings.Owner {
		out := []settings.Owner{}
		for _, id := range ids {
			out = append(out, settings.Owner{Type: settings.OwnerUser, ID: id})
		}
		return out
	}
	initial := settingsView{Owners: own(), Version: 0}
	good := []saved{
		{admin: 1, view: settingsView{Owners: own(12), Version: 1}},
		{admin: 0, view: settingsView{Owners: own(12, 11), Version: 2}},
		{admin: 2, view: settingsView{Owners: own(12, 11, 13), Version: 3}},
	}
	if n, state := lostUpdates(initial, good, users, &problems{}); n != 0 || len(state) != 3 {
		t.Fatalf("a serial history: %d lost, state %v", n, state)
	}
	cases := map[string][]saved{
		"admin 2 saved over version 1, dropping admin 0's owner": {
			good[0], good[1], {admin: 2, view: settingsView{Owners: own(12, 13), Version: 3}}},
		"two saves got version 2": {
			good[0], good[1], {admin: 2, view: settingsView{Owners: own(12, 13), Version: 2}}},
	}
	for name, saves := range cases {
		if n, _ := lostUpdates(initial, saves, users, &problems{}); n == 0 {
			t.Errorf("%s: not seen", name)
		}
	}
}
