package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
)

func emu(t *testing.T, scenario string) *cfemu.Server {
	t.Helper()
	srv := cfemu.New(cfemu.Options{Scenario: scenario}).Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifyTokenAndPolicies(t *testing.T) {
	t.Parallel()
	srv := emu(t, cfemu.ScenarioReady)
	ctx := context.Background()
	tests := []struct {
		name, token, owner string
		account            string
	}{
		{"user token", srv.Token(), OwnerUser, ""},
		{"account token, account known", srv.AccountToken(), OwnerAccount, srv.AccountID()},
		{"account token, account listed", srv.AccountToken(), OwnerAccount, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New(Options{BaseURL: srv.APIURL(), Token: tt.token, AccountID: tt.account})
			st, err := c.VerifyToken(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Owner != tt.owner || st.Status != "active" || st.ID == "" {
				t.Fatalf("VerifyToken = %+v", st)
			}
			tok, err := c.WithAccount(srv.AccountID()).GetToken(ctx, st.Owner, st.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(tok.PermissionNames(), "Workers Scripts Write") {
				t.Errorf("permissions = %v", tok.PermissionNames())
			}
		})
	}
	c := New(Options{BaseURL: srv.APIURL(), Token: "nope"})
	if _, err := c.VerifyToken(ctx); !HasCode(err, CodeInvalidToken) {
		t.Errorf("unknown token: %v", err)
	}
}

func TestAccountsSubscriptionsBucketsAccess(t *testing.T) {
	t.Parallel()
	srv := emu(t, cfemu.ScenarioNewAccount)
	ctx := context.Background()
	c := New(Options{BaseURL: srv.APIURL(), Token: srv.Token()})
	accts, err := c.ListAccounts(ctx)
	if err != nil || len(accts) != 1 || accts[0].ID != srv.AccountID() {
		t.Fatalf("ListAccounts = %v, %v", accts, err)
	}
	c = c.WithAccount(srv.AccountID())
	if subs, err := c.Subscriptions(ctx); err != nil || len(subs) != 0 {
		t.Errorf("new account subscriptions = %v, %v", subs, err)
	}
	if _, err := c.ListBuckets(ctx); !HasCode(err, CodeR2NotEnabled) {
		t.Errorf("ListBuckets without R2: %v", err)
	}
	if _, err := c.GetAccessOrganization(ctx); !NotFound(err) {
		t.Errorf("GetAccessOrganization on a new account: %v", err)
	}
	srv.Update(func(s *cfemu.State) { s.Account.R2Enabled, s.Account.WorkersPaid = true, true })
	if _, err := c.CreateBucket(ctx, "moltbot-data", ""); err != nil {
		t.Fatal(err)
	}
	if b, err := c.GetBucket(ctx, "moltbot-data"); err != nil || b.Name != "moltbot-data" {
		t.Errorf("GetBucket = %v, %v", b, err)
	}
	if _, err := c.GetBucket(ctx, "nope"); !NotFound(err) && !HasCode(err, CodeBucketNotFound) {
		t.Errorf("GetBucket missing: %v", err)
	}
	if bs, err := c.ListBuckets(ctx); err != nil || len(bs) != 1 {
		t.Errorf("ListBuckets = %v, %v", bs, err)
	}
	if subs, err := c.Subscriptions(ctx); err != nil || len(subs) != 1 {
		t.Errorf("paid account subscriptions = %v, %v", subs, err)
	}
	org, err := c.CreateAccessOrganization(ctx, "me", "me.cloudflareaccess.com")
	if err != nil || org.AuthDomain != "me.cloudflareaccess.com" {
		t.Fatalf("CreateAccessOrganization = %v, %v", org, err)
	}
	app, err := c.CreateAccessApp(ctx, AccessApp{Name: "w", Domain: "w.me.workers.dev", Type: "self_hosted", SessionDuration: "24h"})
	if err != nil || app.ID == "" || app.AUD == "" {
		t.Fatalf("CreateAccessApp = %+v, %v", app, err)
	}
	st, err := c.CreateServiceToken(ctx, "moltctl", "8760h")
	if err != nil || st.ClientID == "" || st.ClientSecret == "" {
		t.Fatalf("CreateServiceToken = %v", err)
	}
	if _, err := c.CreateAppPolicy(ctx, app.ID, AccessPolicy{Name: "svc", Decision: "non_identity",
		Include: []map[string]any{{"service_token": map[string]any{"token_id": st.ID}}}}); err != nil {
		t.Fatal(err)
	}
	if ps, err := c.ListAppPolicies(ctx, app.ID); err != nil || len(ps) != 1 {
		t.Errorf("ListAppPolicies = %v, %v", ps, err)
	}
	apps, err := c.ListAccessApps(ctx)
	if err != nil || len(apps) != 1 || !slices.Contains(apps[0].Hosts(), "w.me.workers.dev") {
		t.Errorf("ListAccessApps = %+v, %v", apps, err)
	}
	if _, err := c.UpdateAccessApp(ctx, app.ID, AccessApp{Name: "w2", Domain: "w.me.workers.dev", Type: "self_hosted"}); err != nil {
		t.Error(err)
	}
	if sts, err := c.ListServiceTokens(ctx); err != nil || len(sts) != 1 || sts[0].ClientSecret != "" {
		t.Errorf("ListServiceTokens = %v, %v", sts, err)
	}
	gs, err := c.ListPermissionGroups(ctx, "Workers R2 Storage Bucket Item Write")
	if err != nil || len(gs) != 1 || gs[0].ID != R2BucketItemWrite {
		t.Fatalf("ListPermissionGroups = %v, %v", gs, err)
	}
	tok, err := c.CreateAccountToken(ctx, "moltbot-r2", []TokenPolicy{{Effect: "allow",
		PermissionGroups: []PermissionGroup{{ID: gs[0].ID}},
		Resources:        map[string]any{R2BucketResource(srv.AccountID(), "moltbot-data"): "*"}}})
	if err != nil || tok.Value == "" || tok.ID == "" {
		t.Fatalf("CreateAccountToken = %v", err)
	}
}

func TestOnlyAccountNeverGuesses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, result string
		count        int
		want         string // the ID, or "" for an AccountChoiceError
		hint         string
	}{
		{"one", `[{"id":"a1","name":"Mine"}]`, 1, "a1", ""},
		{"none", `[]`, 0, "", "give the token access"},
		{"two", `[{"id":"a1","name":"Mine"},{"id":"b2","name":"Work"}]`, 2, "", "a1 (Mine), b2 (Work)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"success":true,"errors":[],"result":%s,"result_info":{"page":1,"per_page":50,"count":%d,"total_count":%d}}`, tt.result, tt.count, tt.count)
			})
			a, err := c.OnlyAccount(context.Background())
			var choice *AccountChoiceError
			switch {
			case tt.want != "":
				if err != nil || a.ID != tt.want {
					t.Fatalf("OnlyAccount = %+v, %v; want %s", a, err, tt.want)
				}
			case !errors.As(err, &choice):
				t.Fatalf("OnlyAccount = %+v, %v; want an AccountChoiceError", a, err)
			case !strings.Contains(clierr.HintOf(err), tt.hint) || clierr.ExitCodeOf(err) != clierr.ExitUsage:
				t.Errorf("hint %q (exit %d), want it to hold %q and exit %d", clierr.HintOf(err), clierr.ExitCodeOf(err), tt.hint, clierr.ExitUsage)
			}
		})
	}
}
