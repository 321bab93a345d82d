package cfapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/clierr"
)

// Token owners: a token belongs to a user (/user/tokens) or to an account
// (/accounts/{id}/tokens).
const (
	OwnerUser    = "user"
	OwnerAccount = "account"
)

// TokenStatus is what /tokens/verify says about the client's own token.
type TokenStatus struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"` // active, disabled, expired
	ExpiresOn *time.Time `json:"expires_on,omitempty"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	// Owner is OwnerUser or OwnerAccount: which verify endpoint accepted it.
	Owner string `json:"-"`
	// AccountID is the account an account-owned token was verified against.
	AccountID string `json:"-"`
}

// Active reports whether the token is usable at now.
func (t *TokenStatus) Active(now time.Time) bool {
	if t.Status != "active" {
		return false
	}
	if t.ExpiresOn != nil && !now.Before(*t.ExpiresOn) {
		return false
	}
	return t.NotBefore == nil || !now.Before(*t.NotBefore)
}

// WithAccount returns a copy of the client acting on account id. The copy
// shares the transport; use it instead of SetAccountID when other
// goroutines hold the original.
func (c *Client) WithAccount(id string) *Client {
	cp := *c
	cp.accountID = id
	return &cp
}

// VerifyToken verifies the client's token as wrangler's whoami does: first
// as a user token; when that answers 1000 "Invalid API Token", as an
// account token of the client's account (or, with none set, of each
// account the token can list).
func (c *Client) VerifyToken(ctx context.Context) (*TokenStatus, error) {
	var st TokenStatus
	err := c.Do(ctx, Request{Method: http.MethodGet, Path: "user/tokens/verify"}, &st)
	if err == nil {
		st.Owner = OwnerUser
		return &st, nil
	}
	if !HasCode(err, CodeInvalidToken) {
		return nil, err
	}
	userErr := err
	ids := []string{c.accountID}
	if c.accountID == "" {
		accts, lerr := c.ListAccounts(ctx)
		if lerr != nil || len(accts) == 0 {
			return nil, userErr
		}
		ids = ids[:0]
		for _, a := range accts {
			ids = append(ids, a.ID)
		}
	}
	for _, id := range ids {
		var ast TokenStatus
		err = c.Do(ctx, Request{Method: http.MethodGet, Path: "accounts/" + id + "/tokens/verify"}, &ast)
		if err == nil {
			ast.Owner, ast.AccountID = OwnerAccount, id
			return &ast, nil
		}
	}
	if HasCode(err, CodeInvalidToken) {
		return nil, userErr
	}
	return nil, err
}

// Account is one account the token can act on.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// ListAccounts lists every account the token can see, following pages.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	var all []Account
	for page := 1; page <= 100; page++ {
		var batch []Account
		env, err := c.DoEnvelope(ctx, Request{Method: http.MethodGet, Path: "accounts",
			Query: url.Values{"page": {strconv.Itoa(page)}, "per_page": {"50"}}})
		if err != nil {
			return nil, err
		}
		if err := unmarshalResult(env, &batch); err != nil {
			return nil, err
		}
		all = append(all, batch...)
		ri := env.ResultInfo
		if len(batch) == 0 || ri == nil || ri.TotalCount == 0 || len(all) >= ri.TotalCount {
			break
		}
	}
	return all, nil
}

// OnlyAccount returns the one account the token can see. With none or
// several it fails with *AccountChoiceError: which account to act on is
// the user's choice, never a guess.
func (c *Client) OnlyAccount(ctx context.Context) (Account, error) {
	accts, err := c.ListAccounts(ctx)
	if err != nil {
		return Account{}, err
	}
	if len(accts) != 1 {
		return Account{}, &AccountChoiceError{Candidates: accts}
	}
	return accts[0], nil
}

// AccountChoiceError is a token that sees no account, or several.
type AccountChoiceError struct {
	// Candidates are the accounts the token can see.
	Candidates []Account
}

func (e *AccountChoiceError) Error() string {
	if len(e.Candidates) == 0 {
		return "the API token can see no Cloudflare account"
	}
	return fmt.Sprintf("the API token can see %d accounts", len(e.Candidates))
}

// Hint names the fix; with several accounts it lists them.
func (e *AccountChoiceError) Hint() string {
	if len(e.Candidates) == 0 {
		return "give the token access to your account, or pass --account ID"
	}
	ids := make([]string, 0, len(e.Candidates))
	for _, a := range e.Candidates {
		ids = append(ids, a.ID+" ("+a.Name+")")
	}
	return "pass --account ID or set CLOUDFLARE_ACCOUNT_ID; the token's accounts: " + strings.Join(ids, ", ")
}

// ExitCode makes the missing choice a usage error.
func (e *AccountChoiceError) ExitCode() int { return clierr.ExitUsage }

// PermissionGroup is a named permission ("Workers Scripts Write"); the
// dashboard calls "Write" "Edit".
type PermissionGroup struct {
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

// TokenPolicy is one policy of an API token.
type TokenPolicy struct {
	ID               string            `json:"id,omitempty"`
	Effect           string            `json:"effect"`
	PermissionGroups []PermissionGroup `json:"permission_groups"`
	Resources        map[string]any    `json:"resources"`
}

// Token is an API token as GET /tokens/{id} describes it. Value is set only
// in the answer to creating one.
type Token struct {
	ID        string        `json:"id"`
	Name      string        `json:"name"`
	Status    string        `json:"status"`
	ExpiresOn *time.Time    `json:"expires_on,omitempty"`
	Policies  []TokenPolicy `json:"policies"`
	Value     string        `json:"value,omitempty"`
}

// PermissionNames returns the names of the permission groups the token's
// allow policies grant.
func (t *Token) PermissionNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range t.Policies {
		if p.Effect != "" && p.Effect != "allow" {
			continue
		}
		for _, g := range p.PermissionGroups {
			if g.Name != "" && !seen[g.Name] {
				seen[g.Name] = true
				out = append(out, g.Name)
			}
		}
	}
	return out
}

// GetToken reads token id with its policies: GET /user/tokens/{id}, or
// /accounts/{account}/tokens/{id} for an account-owned token (owner from
// VerifyToken; "" tries the user path, then the account's).
func (c *Client) GetToken(ctx context.Context, owner, id string) (*Token, error) {
	var t Token
	if owner != OwnerAccount {
		err := c.Do(ctx, Request{Method: http.MethodGet, Path: "user/tokens/" + url.PathEscape(id)}, &t)
		if err == nil || owner == OwnerUser || c.accountID == "" {
			if err != nil {
				return nil, err
			}
			return &t, nil
		}
	}
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("tokens/%s", url.PathEscape(id))}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// RatePlan names a subscription's plan.
type RatePlan struct {
	ID         string `json:"id"`
	PublicName string `json:"public_name"`
}

// Subscription is one of the account's subscriptions.
type Subscription struct {
	ID       string   `json:"id"`
	State    string   `json:"state"`
	RatePlan RatePlan `json:"rate_plan"`
}

// Subscriptions lists the account's subscriptions (needs Billing Read).
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	var subs []Subscription
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("subscriptions")}, &subs); err != nil {
		return nil, err
	}
	return subs, nil
}

// unmarshalResult decodes an envelope's result into out.
func unmarshalResult(env *Envelope, out any) error {
	if len(env.Result) == 0 || string(env.Result) == "null" {
		return nil
	}
	return json.Unmarshal(env.Result, out)
}
