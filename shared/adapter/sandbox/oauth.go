package sandbox

import "time"

// The records of what a sandbox's OAuth server issued, as its state file keeps them
// (a sandbox that speaks for several products wraps them with the product).

// Grant is what a code or token stands for: a user and the scopes granted. A
// refresh token's record is just that.
type Grant struct {
	User   int64    `json:"user"`
	Scopes []string `json:"scopes"`
}

// Code is an authorization code not yet exchanged.
type Code struct {
	Grant
	RedirectURI string    `json:"redirectUri"`
	Expires     time.Time `json:"expires"`
}

// AccessToken is an access token and the refresh token it was issued with.
type AccessToken struct {
	Grant
	Expires time.Time `json:"expires"`
	Refresh string    `json:"refresh,omitempty"`
}
