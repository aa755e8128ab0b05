package zendesk

import (
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Support OAuth, the authorization code grant
// (https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/): the
// user is sent to /oauth/authorizations/new on the account's host, comes back with a
// code valid for 120 seconds, and the code is exchanged at /oauth/tokens for an access
// token and a refresh token. PKCE with S256 is supported for Support, not for Chat
// (https://developer.zendesk.com/documentation/api-basics/authentication/oauth-pkce):
//
//	verifier := oauth2.GenerateVerifier()
//	url := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
//	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
const (
	SupportAuthorizePath = "/oauth/authorizations/new"
	SupportTokenPath     = "/oauth/tokens"
)

// SupportScopes are what sellchat asks of Support: reading users (who a signed app
// token names, their role) and apps (the public key and installation), and, for Agent
// Workspace accounts, creating the webhook and trigger that announce solved chat
// tickets. Resource scopes ("webhooks:write") keep the token from writing anything else
// (https://developer.zendesk.com/api-reference/ticketing/oauth/oauth_tokens/ lists the
// scopes).
var SupportScopes = []string{"read", "webhooks:write", "triggers:write"}

// ChatScopes are what sellchat asks of Chat: reading the account, agents and chats.
var ChatScopes = []string{"read", "chat"}

// SupportOAuthConfig returns the OAuth configuration of a Support OAuth client.
// baseURL is the account's API root (BaseURL in production, the sandbox's URL
// locally). Client credentials travel in the request body, as Zendesk's examples send
// them, so the auth style is fixed instead of probed (probing sends a failing request
// first). Scopes default to SupportScopes.
func SupportOAuthConfig(baseURL, clientID, clientSecret, redirectURL string, scopes []string) *oauth2.Config {
	base := strings.TrimRight(baseURL, "/")
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Scopes: scopesOr(scopes, SupportScopes),
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + SupportAuthorizePath,
			TokenURL:  base + SupportTokenPath,
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// ChatOAuthConfig returns the OAuth configuration of a Chat API client, the one an
// admin adds in the Chat dashboard. authBaseURL is ChatOAuthBaseURL in production (the
// sandbox's URL locally); subdomain names the Support account the Chat account is
// integrated with, which the authorize page requires. There is no PKCE. Scopes default
// to ChatScopes.
func ChatOAuthConfig(authBaseURL, subdomain, clientID, clientSecret, redirectURL string, scopes []string) *oauth2.Config {
	base := strings.TrimRight(authBaseURL, "/")
	if base == "" {
		base = ChatOAuthBaseURL
	}
	// AuthCodeURL appends its parameters with & when AuthURL already has a query.
	q := url.Values{ChatSubdomainParameter: {subdomain}}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
		Scopes: scopesOr(scopes, ChatScopes),
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + ChatAuthorizePath + "?" + q.Encode(),
			TokenURL:  base + ChatTokenPath,
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

func scopesOr(scopes, def []string) []string {
	if len(scopes) > 0 {
		return scopes
	}
	return append([]string(nil), def...)
}
