package initcmd

import (
	"context"
	"fmt"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// Account is a Cloudflare account the token can see.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// listAccounts returns the accounts the token can see, every page.
func listAccounts(ctx context.Context, c *cfapi.Client) ([]Account, error) {
	accts, err := c.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	out := make([]Account, 0, len(accts))
	for _, a := range accts {
		out = append(out, Account{ID: a.ID, Name: a.Name})
	}
	return out, nil
}
