package cfemu_test

// A second outside client against the emulator, beside wrangler: the typed
// service packages of cloudflare-go v4, generated from Cloudflare's OpenAPI
// schema by people who are not this project. Where the emulator's paths,
// envelopes or shapes drift from the real API's, these calls fail to
// decode or to route. Only this test links cloudflare-go; moltctl does not.

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v4"
	"github.com/cloudflare/cloudflare-go/v4/accounts"
	"github.com/cloudflare/cloudflare-go/v4/option"
	"github.com/cloudflare/cloudflare-go/v4/shared"
	"github.com/cloudflare/cloudflare-go/v4/user"
	"github.com/cloudflare/cloudflare-go/v4/zero_trust"

	"github.com/moltctl/moltctl/pkg/cfemu"
)

func cfgoOpts(srv *cfemu.Server, token string) []option.RequestOption {
	return []option.RequestOption{option.WithBaseURL(srv.APIURL() + "/"), option.WithAPIToken(token), option.WithMaxRetries(0),
		option.WithRequestTimeout(10 * time.Second)}
}

func TestCloudflareGoTokens(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	acct := srv.AccountID()

	// Verify, as a user token and as an account token.
	v, err := user.NewTokenService(cfgoOpts(srv, srv.Token())...).Verify(ctx)
	if err != nil || v.Status != user.TokenVerifyResponseStatusActive || v.ID == "" {
		t.Fatalf("user token verify = %+v, %v", v, err)
	}
	av, err := accounts.NewTokenService(cfgoOpts(srv, srv.AccountToken())...).Verify(ctx, accounts.TokenVerifyParams{AccountID: cloudflare.F(acct)})
	if err != nil || av.Status != accounts.TokenVerifyResponseStatusActive {
		t.Fatalf("account token verify = %+v, %v", av, err)
	}
	page, err := accounts.NewAccountService(cfgoOpts(srv, srv.Token())...).List(ctx, accounts.AccountListParams{})
	if err != nil || len(page.Result) != 1 || page.Result[0].ID != acct {
		t.Fatalf("accounts = %+v, %v", page, err)
	}

	// The R2 token moltctl makes: an account token, one permission group,
	// one bucket.
	groups, err := accounts.NewTokenPermissionGroupService(cfgoOpts(srv, srv.Token())...).List(ctx,
		accounts.TokenPermissionGroupListParams{AccountID: cloudflare.F(acct), Name: cloudflare.F("Workers R2 Storage Bucket Item Write")})
	if err != nil || len(groups.Result) != 1 {
		t.Fatalf("permission groups = %+v, %v", groups, err)
	}
	tokens := accounts.NewTokenService(cfgoOpts(srv, srv.Token())...)
	created, err := tokens.New(ctx, accounts.TokenNewParams{AccountID: cloudflare.F(acct), Name: cloudflare.F("moltbot-r2"),
		Policies: cloudflare.F([]shared.TokenPolicyParam{{
			Effect:           cloudflare.F(shared.TokenPolicyEffectAllow),
			PermissionGroups: cloudflare.F([]shared.TokenPolicyPermissionGroupParam{{ID: cloudflare.F(groups.Result[0].ID)}}),
			Resources: cloudflare.F(map[string]shared.TokenPolicyResourcesUnionParam{
				"com.cloudflare.edge.r2.bucket." + acct + "_default_moltbot-data": shared.UnionString("*")}),
		}})})
	if err != nil || created.ID == "" || created.Value == "" {
		t.Fatalf("create account token = %+v, %v", created, err)
	}
	got, err := tokens.Get(ctx, created.ID, accounts.TokenGetParams{AccountID: cloudflare.F(acct)})
	if err != nil || len(got.Policies) != 1 || got.Policies[0].PermissionGroups[0].Name != "Workers R2 Storage Bucket Item Write" {
		t.Fatalf("get account token = %+v, %v", got, err)
	}

	// A token without API Tokens Read cannot read itself, as on Cloudflare.
	var apiErr *cloudflare.Error
	self, err := user.NewTokenService(cfgoOpts(srv, srv.ScopedToken())...).Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := user.NewTokenService(cfgoOpts(srv, srv.ScopedToken())...).Get(ctx, self.ID); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
		t.Errorf("a token without API Tokens Read read itself: %v", err)
	}
	// Nor can the R2 token read itself without Account API Tokens Read.
	if _, err := accounts.NewTokenService(cfgoOpts(srv, created.Value)...).Get(ctx, created.ID, accounts.TokenGetParams{AccountID: cloudflare.F(acct)}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
		t.Errorf("the R2 token read itself: %v", err)
	}
	if _, err := tokens.Delete(ctx, created.ID, accounts.TokenDeleteParams{AccountID: cloudflare.F(acct)}); err != nil {
		t.Errorf("delete account token: %v", err)
	}
}

func TestCloudflareGoAccess(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	acct := cloudflare.F(srv.AccountID())
	opts := cfgoOpts(srv, srv.Token())

	org, err := zero_trust.NewOrganizationService(opts...).List(ctx, zero_trust.OrganizationListParams{AccountID: acct})
	if err != nil || org.AuthDomain == "" {
		t.Fatalf("organization = %+v, %v", org, err)
	}
	apps := zero_trust.NewAccessApplicationService(opts...)
	app, err := apps.New(ctx, zero_trust.AccessApplicationNewParams{AccountID: acct, Body: zero_trust.AccessApplicationNewParamsBodySelfHostedApplication{
		Domain: cloudflare.F("moltbot-sandbox.emulated.workers.dev"), Type: cloudflare.F(zero_trust.ApplicationTypeSelfHosted),
		Name: cloudflare.F("moltbot-sandbox"), SessionDuration: cloudflare.F("24h"),
	}})
	if err != nil || app.ID == "" || app.AUD == "" {
		t.Fatalf("create Access application = %+v, %v", app, err)
	}
	list, err := apps.List(ctx, zero_trust.AccessApplicationListParams{AccountID: acct})
	if err != nil || len(list.Result) != 1 || list.Result[0].ID != app.ID || list.Result[0].AUD != app.AUD {
		t.Fatalf("list Access applications = %+v, %v", list, err)
	}
	st := zero_trust.NewAccessServiceTokenService(opts...)
	tok, err := st.New(ctx, zero_trust.AccessServiceTokenNewParams{AccountID: acct, Name: cloudflare.F("moltctl"), Duration: cloudflare.F("8760h")})
	if err != nil || tok.ClientID == "" || tok.ClientSecret == "" {
		t.Fatalf("create service token = %+v, %v", tok, err)
	}
	toks, err := st.List(ctx, zero_trust.AccessServiceTokenListParams{AccountID: acct})
	if err != nil || len(toks.Result) != 1 || toks.Result[0].ClientID != tok.ClientID {
		t.Fatalf("list service tokens = %+v, %v", toks, err)
	}
	if _, err := st.Delete(ctx, tok.ID, zero_trust.AccessServiceTokenDeleteParams{AccountID: acct}); err != nil {
		t.Errorf("delete service token: %v", err)
	}
	if _, err := apps.Delete(ctx, app.ID, zero_trust.AccessApplicationDeleteParams{AccountID: acct}); err != nil {
		t.Errorf("delete Access application: %v", err)
	}
}
