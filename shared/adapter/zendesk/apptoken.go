package zendesk

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AppTokenClaims are the claims of the token Zendesk posts (form field "token") to an
// app location with signed URLs on, RS256-signed with the app's key. What each claim
// holds, and how sure we are, is in assumptions.go ("signed app tokens"). The token
// carries no email, name or role: look the user up with Client.User(sub).
//
// It implements jwt.Claims, with aud a single string as Zendesk writes it (jwt's own
// RegisteredClaims would write a one-element array).
type AppTokenClaims struct {
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	Subject   string           `json:"sub"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	QSH       string           `json:"qsh,omitempty"`
	Cnf       *AppTokenCnf     `json:"cnf,omitempty"`
	Context   AppTokenContext  `json:"context"`
}

// AppTokenCnf names the key (never fetch it from there: see AppTokenKeyURL).
type AppTokenCnf struct {
	JKU string `json:"jku"`
}

// AppTokenContext says where the app runs: product "support", "chat" or "sell" and a
// location of it, e.g. "chat_sidebar" or "lead_card".
type AppTokenContext struct {
	Product  string `json:"product"`
	Location string `json:"location"`
}

// NewAppTokenClaims fills in the claims Zendesk would sign for user userID viewing
// installation installationID of app appID at issuedAt.
func NewAppTokenClaims(subdomain string, appID, installationID int64, userID, product, location string, issuedAt time.Time) AppTokenClaims {
	return AppTokenClaims{
		Issuer:    AppTokenIssuer(subdomain),
		Audience:  AppTokenAudience(subdomain, installationID),
		Subject:   userID,
		IssuedAt:  jwt.NewNumericDate(issuedAt),
		NotBefore: jwt.NewNumericDate(issuedAt),
		ExpiresAt: jwt.NewNumericDate(issuedAt.Add(AppTokenLifetime)),
		Cnf:       &AppTokenCnf{JKU: AppTokenKeyURL(subdomain, appID)},
		Context:   AppTokenContext{Product: product, Location: location},
	}
}

// GetExpirationTime implements jwt.Claims.
func (c AppTokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetIssuedAt implements jwt.Claims.
func (c AppTokenClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetNotBefore implements jwt.Claims.
func (c AppTokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetIssuer implements jwt.Claims.
func (c AppTokenClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c AppTokenClaims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c AppTokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	if c.Audience == "" {
		return nil, nil
	}
	return jwt.ClaimStrings{c.Audience}, nil
}
