package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/sellchat/sellchat/shared/domain/settings"
)

// Sort keys of the account's configuration items.
const (
	skSettings    = "SETTINGS"
	skIntegration = "INTEGRATION"
)

// Settings returns the account's settings and version; an account that never saved
// any gets the defaults at version 0.
func (s *Store) Settings(ctx context.Context, account string) (settings.Settings, int64, error) {
	var st settings.Settings
	v, err := s.Get(ctx, Key{Account: account, SK: skSettings}, &st)
	if errors.Is(err, ErrNotFound) {
		return defaultedSettings(st, false), 0, nil
	}
	if err != nil {
		return settings.Settings{}, 0, fmt.Errorf("load settings of %s: %w", account, err)
	}
	return defaultedSettings(st, true), v, nil
}

// SaveSettings writes st if the stored version is still expected (ErrConflict if not)
// and returns the new version.
func (s *Store) SaveSettings(ctx context.Context, account string, st settings.Settings, expected int64) (int64, error) {
	v, err := s.PutVersioned(ctx, Key{Account: account, SK: skSettings}, st, expected)
	if err != nil {
		return 0, fmt.Errorf("save settings of %s: %w", account, err)
	}
	return v, nil
}

// Integration returns the account's integration state (all elements off until set).
func (s *Store) Integration(ctx context.Context, account string) (settings.Integration, error) {
	var in settings.Integration
	_, err := s.Get(ctx, Key{Account: account, SK: skIntegration}, &in)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return settings.Integration{}, fmt.Errorf("load integration of %s: %w", account, err)
	}
	return in, nil
}

// UpdateIntegration applies change to the account's integration state without losing
// a concurrent change to another element. The account's entry in the list of
// accounts that poll chats (ChatPollAccounts) follows in the same transaction.
func (s *Store) UpdateIntegration(ctx context.Context, account string, change func(*settings.Integration) error) (settings.Integration, error) {
	in, _, err := update(ctx, s, Key{Account: account, SK: skIntegration}, change, chatPollEntry(s, account))
	if err != nil {
		return settings.Integration{}, fmt.Errorf("update integration of %s: %w", account, err)
	}
	return in, nil
}
