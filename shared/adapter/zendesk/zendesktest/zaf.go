package zendesktest

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/golang-jwt/jwt/v5"

	"github.com/sellchat/sellchat/shared/adapter/zendesk"
	"github.com/sellchat/sellchat/shared/platform/auth"
)

// appProducts are the products an app location can be in (ZAS product.rb).
var appProducts = []string{"support", "chat", "sell"}

// ZAFClaims returns the claims Zendesk would sign now for userID viewing the first
// installed app in location of product (e.g. "chat", "chat_sidebar"), per the
// assumptions on signed app tokens. Change them (another installation's audience, an
// expiry in the past) and sign with SignZAFToken to make tokens a verifier must refuse.
func (s *Sandbox) ZAFClaims(userID int64, product, location string) zendesk.AppTokenClaims {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.st.Apps) == 0 {
		panic("zendesktest: ZAFClaims: the sandbox has no app")
	}
	a := s.st.Apps[0]
	c := zendesk.NewAppTokenClaims(s.opts.Subdomain, a.ID, a.InstallationID, strconv.FormatInt(userID, 10), product, location, s.now())
	// qsh's recipe is unknown (see assumptions.go): an opaque hash that no verifier checks.
	sum := sha256.Sum256([]byte("POST&" + product + "/" + location + "&"))
	c.QSH = hex.EncodeToString(sum[:])
	return c
}

// ZAFToken returns the signed token Zendesk would post to the app's location for
// userID: ZAFClaims signed with the first app's key. It panics without an app.
func (s *Sandbox) ZAFToken(userID int64, product, location string) string {
	claims := s.ZAFClaims(userID, product, location)
	s.mu.Lock()
	key := s.keys[s.st.Apps[0].ID]
	s.mu.Unlock()
	return SignZAFToken(key, claims)
}

// SignZAFToken signs claims RS256 with key, as Zendesk signs signed-URL tokens. With a
// key other than the app's it makes a foreign token.
func SignZAFToken(key *rsa.PrivateKey, claims zendesk.AppTokenClaims) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
	if err != nil {
		panic("zendesktest: sign app token: " + err.Error())
	}
	return tok
}

// postZAFToken answers POST /sandbox/zaf-token {"userId","product","location"} with
// {"token"}: the local stack's stand-in for Zendesk posting a token to an iframe.
// Local only; Zendesk has no such endpoint.
func (s *Sandbox) postZAFToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID   json.Number `json:"userId"`
		Product  string      `json:"product"`
		Location string      `json:"location"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidValue", "the body must be {\"userId\",\"product\",\"location\"}")
		return
	}
	id, err := in.UserID.Int64()
	if err != nil || !slices.Contains(appProducts, in.Product) || in.Location == "" {
		writeError(w, http.StatusBadRequest, "InvalidValue", "userId must be a user id, product support, chat or sell, location a location of it")
		return
	}
	if u, ok := s.User(id); !ok || !u.Active {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": s.ZAFToken(id, in.Product, in.Location)})
}

// GenerateKey returns a new 2048-bit RSA key: an app key to pass in Options.AppKey (so
// tests of one package generate it once) or a foreign key to sign tokens Zendesk did
// not. It panics if the system's randomness fails.
func GenerateKey() *rsa.PrivateKey {
	key, err := auth.NewKey()
	if err != nil {
		panic("zendesktest: generate key: " + err.Error())
	}
	return key
}

// SignAsApp signs claims with the key of the first installed app, as Zendesk would:
// the way to make a genuinely signed token with wrong claims (expired, another
// installation's audience) that a verifier must still refuse.
func (s *Sandbox) SignAsApp(claims zendesk.AppTokenClaims) string {
	s.mu.Lock()
	key := s.keys[s.st.Apps[0].ID]
	s.mu.Unlock()
	return SignZAFToken(key, claims)
}
