// Package secrets seals what must never sit in the table in clear (Sell OAuth tokens,
// webhook signing secrets) with AES-256-GCM. The associated data names the account and
// the kind of secret, so a sealed value copied onto another item will not open.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the key length AES-256 needs.
const KeySize = 32

// ErrOpen means a sealed value was tampered with, moved, or sealed with another key.
var ErrOpen = errors.New("secrets: cannot open sealed value")

// Box seals and opens values with one key, and hashes with a key derived from it.
type Box struct {
	aead cipher.AEAD
	// hashKey is KeyedHash's key: derived from the sealing key rather than the key
	// itself, so a hash can never help anyone open a sealed value.
	hashKey []byte
}

// NewBox returns a box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	hashKey, err := hkdf.Key(sha256.New, key, nil, hashKeyInfo, sha256.Size)
	if err != nil {
		return nil, fmt.Errorf("secrets: derive the hash key: %w", err)
	}
	return &Box{aead: aead, hashKey: hashKey}, nil
}

// hashKeyInfo names KeyedHash's key in its derivation (HKDF's info), so no other
// key derived from the deployment's key can ever equal it.
const hashKeyInfo = "sellchat keyed hash v1"

// KeyedHash is HMAC-SHA256 of data under a key derived from the box's, bound to
// purpose ("erasure"…). It names a value without keeping it: the same value always
// gives the same hash within a deployment, and without the deployment's key nobody
// can tell which value a hash names, not even by trying likely ones (emails, phone
// numbers) as a plain hash would allow.
func (b *Box) KeyedHash(purpose string, data []byte) []byte {
	m := hmac.New(sha256.New, b.hashKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0}) // purpose cannot run into data
	m.Write(data)
	return m.Sum(nil)
}

// ParseKey reads a key written as base64 (standard or URL) or hex.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, dec := range []func(string) ([]byte, error){
		base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString, hex.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secrets: the key must be %d random bytes in base64 or hex (e.g. `openssl rand -base64 32`)", KeySize)
}

// NewKey returns a fresh random key, base64-encoded.
func NewKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// AAD binds a sealed value to its account and kind ("admin_token", "webhook_secret"…).
func AAD(account, kind string) []byte { return []byte("sellchat|" + account + "|" + kind) }

// Seal encrypts plaintext bound to aad; the nonce is prepended.
func (b *Box) Seal(plaintext, aad []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, aad)
}

// Open decrypts a value sealed with the same key and aad.
func (b *Box) Open(sealed, aad []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n+b.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}
