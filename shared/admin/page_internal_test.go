package admin

import "testing"

func TestFrameAncestorsComeFromTheEnvironmentOnlyWhenPlain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		env, want string
		ok        bool
	}{
		{"", DefaultFrameAncestors, true},
		{"https://acme.zendesk.com  https://*.example.com:8443", "https://acme.zendesk.com https://*.example.com:8443", true},
		{"'self'", "'self'", true},
		{"https://a.zendesk.com; script-src *", DefaultFrameAncestors, false},
		{"https://a.zendesk.com 'unsafe-inline'", DefaultFrameAncestors, false},
		{"*", DefaultFrameAncestors, false},
	}
	for _, c := range cases {
		got, ok := frameAncestors(func(string) string { return c.env })
		if got != c.want || ok != c.ok {
			t.Errorf("FRAME_ANCESTORS=%q: %q %v, want %q %v", c.env, got, ok, c.want, c.ok)
		}
	}
}
