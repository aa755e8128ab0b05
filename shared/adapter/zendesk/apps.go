package zendesk

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/sellchat/sellchat/shared/platform/auth"
)

// Installation is an installed app as GET /api/v2/apps/installations.json lists it
// (the endpoint zcli and public apps call; see assumptions.go for which installation a
// signed token names).
type Installation struct {
	ID        int64           `json:"id"`
	AppID     int64           `json:"app_id"`
	Product   string          `json:"product,omitempty"`
	Enabled   bool            `json:"enabled"`
	Settings  json.RawMessage `json:"settings,omitempty"`
	CreatedAt string          `json:"created_at,omitempty"`
	UpdatedAt string          `json:"updated_at,omitempty"`
}

// Installations lists the account's app installations.
func (c *Client) Installations(ctx context.Context) ([]Installation, error) {
	var env struct {
		Installations []Installation `json:"installations"`
	}
	if err := c.getJSON(ctx, c.endpoint("/api/v2/apps/installations.json", nil), &env); err != nil {
		return nil, fmt.Errorf("list app installations: %w", err)
	}
	return env.Installations, nil
}

// InstallationOf returns the installation of appID among ins.
func InstallationOf(ins []Installation, appID int64) (Installation, bool) {
	for _, in := range ins {
		if in.AppID == appID {
			return in, true
		}
	}
	return Installation{}, false
}

// AppPublicKey fetches the key that verifies the app's signed tokens
// (GET /api/v2/apps/{app_id}/public_key.pem, named in the reference as "Get App Public
// Key": https://developer.zendesk.com/api-reference/ticketing/apps/apps/#get-app-public-key).
// The key is per app, not per installation. Anything but an RSA key is refused: the
// tokens are RS256.
func (c *Client) AppPublicKey(ctx context.Context, appID int64) (*rsa.PublicKey, error) {
	u := c.endpoint("/api/v2/apps/"+strconv.FormatInt(appID, 10)+"/public_key.pem", nil)
	body, err := c.get(ctx, u, "application/x-pem-file, text/plain, */*")
	if err != nil {
		return nil, fmt.Errorf("fetch public key of app %d: %w", appID, err)
	}
	// auth.ParsePublicKey takes PKIX or PKCS#1 PEM and refuses other key types.
	key, err := auth.ParsePublicKey(body)
	if err != nil {
		return nil, fmt.Errorf("public key of app %d: %w", appID, err)
	}
	return key, nil
}
