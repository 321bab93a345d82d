package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/moltctl/moltctl/pkg/clierr"
)

// TokenFix is what to do about a token Cloudflare refuses.
const TokenFix = "create a token with the permissions in docs/token-permissions.md and export it as CLOUDFLARE_API_TOKEN (moltctl doctor --check token says more)"

// CheckToken verifies the client's token and fails with one clear error
// when Cloudflare refuses it (not valid, expired, disabled, not valid
// yet): bad input, exit 2 as docs/exit-codes.md says. Any other failure
// (the network, an API error) is returned as it is.
func (c *Client) CheckToken(ctx context.Context, now time.Time) error {
	tok, err := c.VerifyToken(ctx)
	switch {
	case HasCode(err, CodeInvalidToken) || IsStatus(err, http.StatusUnauthorized) || IsStatus(err, http.StatusForbidden):
		return &clierr.UsageError{Err: fmt.Errorf("cloudflare does not accept the API token: %w", err), Fix: TokenFix}
	case err != nil:
		return fmt.Errorf("verify the API token: %w", err)
	case !tok.Active(now):
		return &clierr.UsageError{Err: fmt.Errorf("the API token is %s", tokenState(tok, now)), Fix: TokenFix}
	}
	return nil
}

func tokenState(tok *TokenStatus, now time.Time) string {
	if tok.Status == "active" && tok.ExpiresOn != nil && !now.Before(*tok.ExpiresOn) {
		return "expired"
	}
	if tok.Status == "active" {
		return "not valid yet"
	}
	return tok.Status
}
