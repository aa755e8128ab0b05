package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ParsePublicKey reads an RSA public key from PEM (PKIX "PUBLIC KEY" or PKCS#1
// "RSA PUBLIC KEY"), as the apps framework publishes it.
func ParsePublicKey(pemText []byte) (*rsa.PublicKey, error) {
	key, err := jwt.ParseRSAPublicKeyFromPEM(pemText)
	if err != nil {
		return nil, fmt.Errorf("parse JWT public key: %w", err)
	}
	return key, nil
}

// Signer mints tokens. Production never signs (Zendesk does); the local gateway and
// tests do, with a key of their own.
type Signer struct {
	Key      *rsa.PrivateKey
	Audience string
	TTL      time.Duration
	Now      func() time.Time
}

// NewKey generates a 2048-bit RSA key.
func NewKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// EncodePrivateKey returns the PKCS#8 PEM of key.
func EncodePrivateKey(key *rsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKey returns the PKIX PEM of key's public half.
func EncodePublicKey(key *rsa.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a PEM private key.
func ParsePrivateKey(pemText []byte) (*rsa.PrivateKey, error) {
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemText)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	return key, nil
}

// Sign mints a token for id.
func (s Signer) Sign(id Identity) (string, error) {
	if !ValidAccount(id.Account) || id.UserID == "" || !id.Role.Valid() {
		return "", errors.New("sign: account, user id and a known role are required")
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = time.Hour
	}
	t := now()
	claims := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "https://" + id.Account + ".zendesk.com",
			Subject:   id.UserID,
			Audience:  jwt.ClaimStrings{s.Audience},
			IssuedAt:  jwt.NewNumericDate(t),
			ExpiresAt: jwt.NewNumericDate(t.Add(ttl)),
		},
		Email: id.Email, Name: id.Name, Role: id.Role, ChatFacts: id.Chat,
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.Key)
}
