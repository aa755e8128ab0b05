package settings

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPoolNamesAreTidiedAndBounded(t *testing.T) {
	t.Parallel()
	if got, err := PoolName("  Inbound \t leads "); err != nil || got != "Inbound leads" {
		t.Fatalf("got %q %v", got, err)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("é", MaxPoolName+1)} {
		var fe *FieldError
		if _, err := PoolName(bad); !errors.As(err, &fe) || fe.Field != "name" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := PoolName(strings.Repeat("é", MaxPoolName)); err != nil {
		t.Errorf("a name of exactly %d characters: %v", MaxPoolName, err)
	}
}

func TestOwnersSayWhichPoolsTheyUse(t *testing.T) {
	t.Parallel()
	s := Defaults()
	s.Owners = []Owner{{OwnerUser, 4}, {OwnerPool, 9}, {OwnerPool, 7}}
	if !slices.Equal(s.PoolOwners(), []int64{9, 7}) {
		t.Fatalf("pool owners %v", s.PoolOwners())
	}
	if !s.UsesPool(9) || s.UsesPool(4) || s.UsesPool(8) {
		t.Fatal("UsesPool must match pools only, by id")
	}
}
