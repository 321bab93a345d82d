package initcmd

import (
	"context"
	"fmt"
	"net/url"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// Account is a Cloudflare account the token can see.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// listAccounts returns the accounts the token can see (GET /accounts, every page).
func listAccounts(ctx context.Context, c *cfapi.Client) ([]Account, error) {
	var all []Account
	for page := 1; page <= 20; page++ {
		env, err := c.DoEnvelope(ctx, cfapi.Request{Method: "GET", Path: "accounts",
			Query: url.Values{"page": {fmt.Sprint(page)}, "per_page": {"50"}}})
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		var batch []Account
		if err := jsonUnmarshal(env.Result, &batch); err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		all = append(all, batch...)
		if env.ResultInfo == nil || len(batch) == 0 || env.ResultInfo.TotalCount <= len(all) {
			break
		}
	}
	return all, nil
}
