package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sellchat/sellchat/shared/domain/widgets"
)

// widgetPrefix starts the sort key of each widget's field display: WIDGET#lead…
const widgetPrefix = "WIDGET#"

func widgetKey(account string, w widgets.Name) Key {
	return Key{Account: account, SK: widgetPrefix + string(w)}
}

// Widget returns the account's field display of widget w; a widget never edited
// gets the defaults (draft and published alike).
func (s *Store) Widget(ctx context.Context, account string, w widgets.Name) (widgets.State, error) {
	var st widgets.State
	_, err := s.Get(ctx, widgetKey(account, w), &st)
	if errors.Is(err, ErrNotFound) {
		return defaultedWidget(st, false, w), nil
	}
	if err != nil {
		return widgets.State{}, fmt.Errorf("load %s widget of %s: %w", w, account, err)
	}
	return defaultedWidget(st, true, w), nil
}

// SaveDraft replaces widget w's draft with keys (already validated) and stamps who
// changed it and when; what agents see does not change until Publish.
func (s *Store) SaveDraft(ctx context.Context, account string, w widgets.Name, keys []string, by string, at time.Time) (widgets.State, error) {
	return s.updateWidget(ctx, account, w, func(st *widgets.State) {
		st.Draft = slices.Clone(keys)
		st.ModifiedAt, st.ModifiedBy = at.UTC(), by
	})
}

// Publish makes widget w's draft what agents see, from their next lookup on.
func (s *Store) Publish(ctx context.Context, account string, w widgets.Name, by string, at time.Time) (widgets.State, error) {
	return s.updateWidget(ctx, account, w, func(st *widgets.State) {
		st.Published = slices.Clone(st.Draft)
		st.PublishedAt, st.PublishedBy = at.UTC(), by
	})
}

func (s *Store) updateWidget(ctx context.Context, account string, w widgets.Name, change func(*widgets.State)) (widgets.State, error) {
	st, _, err := Update(ctx, s, widgetKey(account, w), func(st *widgets.State) error {
		// A missing item decodes as the zero State; start it from the defaults so a
		// first publish without a draft change publishes what agents already see.
		if st.Widget == "" {
			*st = widgets.NewState(w)
		}
		*st = normalised(*st, w)
		change(st)
		return nil
	})
	if err != nil {
		return widgets.State{}, fmt.Errorf("update %s widget of %s: %w", w, account, err)
	}
	return st, nil
}

// normalised gives lists that DynamoDB dropped when empty their empty value back, so
// an admin who cleared a widget sees an empty list, not the defaults.
func normalised(st widgets.State, w widgets.Name) widgets.State {
	st.Widget = w
	if st.Draft == nil {
		st.Draft = []string{}
	}
	if st.Published == nil {
		st.Published = []string{}
	}
	return st
}
