package sell

import (
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache holds slow-changing Sell metadata (users, lead sources, lead
// statuses, custom field definitions) for a short time, keyed per account and
// token scope. A warm Lambda then answers a lookup without re-reading them,
// and concurrent misses share one Sell call. Safe for concurrent use.
type Cache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]cacheEntry
	sf singleflight.Group
}

type cacheEntry struct {
	val     any
	expires time.Time
}

// DefaultCacheTTL is long enough to serve a burst of lookups and short enough
// that a new lead source or user shows up within a minute.
const DefaultCacheTTL = 60 * time.Second

// NewCache returns a cache keeping entries for ttl (DefaultCacheTTL when
// zero). now is the clock (time.Now when nil); tests pass a fake one.
func NewCache(ttl time.Duration, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{ttl: ttl, now: now, m: make(map[string]cacheEntry)}
}

var defaultCache = NewCache(0, nil)

func (c *Cache) lookup(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !c.now().Before(e.expires) {
		return nil, false
	}
	return e.val, true
}

func (c *Cache) store(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.m) >= 4096 {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
	}
	c.m[key] = cacheEntry{val: v, expires: now.Add(c.ttl)}
}

// forget drops key, after a write that changes what it holds.
func (c *Cache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// cached returns the value under key, loading it once for all concurrent
// callers on a miss. Errors are not cached.
func cached[T any](c *Cache, key string, load func() (T, error)) (T, error) {
	if v, ok := c.lookup(key); ok {
		return v.(T), nil
	}
	v, err, _ := c.sf.Do(key, func() (any, error) {
		if v, ok := c.lookup(key); ok {
			return v, nil
		}
		v, err := load()
		if err != nil {
			return nil, err
		}
		c.store(key, v)
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
