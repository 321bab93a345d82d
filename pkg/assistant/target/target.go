// Package target finds the deployed assistant a command acts on: the
// project's Worker, moltctl's local state and credentials for it, its URL
// and the Cloudflare account, rebuilding from Cloudflare what local state
// lacks.
package target

import (
	"context"
	"fmt"
	"net/http"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Target is one deployed assistant.
type Target struct {
	Config     *wrangler.Config
	Worker     string
	ProjectDir string
	Store      *state.Store
	// State is never nil; it is empty when nothing was deployed from here.
	State *state.Deployment
	// StateErr is set when the state file exists but could not be read.
	StateErr error
	// Credentials is never nil.
	Credentials *state.Credentials
	// URL is the Worker's base URL ("" when unknown).
	URL       string
	AccountID string
	// API is nil when no API token is set.
	API *cfapi.Client
	// Subdomain is the account's workers.dev subdomain, when known.
	Subdomain string
	// Keeper reads the state the account holds (set with API).
	Keeper *remotestate.Keeper

	httpClient *http.Client
}

// WorkersDevHost is the Worker's workers.dev host name, the domain its
// Access application protects ("" while the subdomain is unknown). URL's
// host can differ: MOLTCTL_WORKERS_DEV_URL serves the Worker elsewhere
// (the emulator's <name>.<subdomain>.workers.dev.localhost).
func (t *Target) WorkersDevHost() string {
	if t.Subdomain == "" {
		return ""
	}
	return t.Worker + "." + t.Subdomain + ".workers.dev"
}

// Inputs are what Resolve reads; commands fill them from their Factory.
type Inputs struct {
	// Config is the project's loaded wrangler configuration.
	Config *wrangler.Config
	// AccountID is --account or CLOUDFLARE_ACCOUNT_ID ("" when neither is given).
	AccountID string
	// API is nil when no API token is set; APIErr then says why.
	API    *cfapi.Client
	APIErr error
	Getenv func(string) string
	// Warn tells the user about something that does not stop the command.
	Warn func(string)
	// WorkersDevURL maps a Worker name and subdomain to its base URL.
	WorkersDevURL func(name, subdomain string) string
	// HTTPClient is what the assistant's client sends requests with.
	HTTPClient *http.Client
}

// Resolve reads the project's local state and fills in the URL and
// account. With needAPI it fails unless an API token is set.
func Resolve(ctx context.Context, in Inputs, needAPI bool) (*Target, error) {
	cfg := in.Config
	if cfg.Name == "" {
		return nil, &clierr.UsageError{Err: fmt.Errorf("%s has no \"name\"", cfg.Path), Fix: "set the Worker's name in wrangler.jsonc"}
	}
	t := &Target{Config: cfg, Worker: cfg.Name, ProjectDir: cfg.ProjectDir(), httpClient: in.HTTPClient}
	var err error
	t.Store, err = state.Open(t.ProjectDir, t.Worker)
	if err != nil {
		return nil, fmt.Errorf("open local state: %w", err)
	}
	t.State, t.StateErr = t.Store.Load()
	if t.StateErr != nil {
		t.State = &state.Deployment{SchemaVersion: state.SchemaVersion, WorkerName: t.Worker, Secrets: map[string]string{}}
	}
	t.Credentials, err = t.Store.LoadCredentials()
	if err != nil {
		t.Credentials = &state.Credentials{Generated: map[string]string{}}
	}
	t.AccountID = firstNonEmpty(in.AccountID, t.State.AccountID, cfg.AccountID)
	t.URL = t.State.URL
	t.Subdomain = t.State.Subdomain

	api := in.API
	switch {
	case api == nil && needAPI:
		return nil, in.APIErr
	case api != nil:
		t.API = api
		if t.AccountID == "" {
			t.AccountID, err = onlyAccount(ctx, api)
			if err != nil {
				return nil, err
			}
		}
		api.SetAccountID(t.AccountID)
		// The account's state is the truth; .moltctl/ is its cache.
		t.Keeper, err = remotestate.NewKeeper(api, t.Store, t.Worker, in.Getenv, in.Warn)
		if err != nil {
			return nil, err
		}
		dep, creds, err := t.Keeper.Load(ctx)
		switch {
		case err != nil && needAPI:
			return nil, err
		case err != nil:
			in.Warn(fmt.Sprintf("using the local copy of the deploy state: %v", err))
		default:
			t.State, t.StateErr, t.Credentials = dep, nil, creds
			t.URL, t.Subdomain = firstNonEmpty(dep.URL, t.URL), firstNonEmpty(dep.Subdomain, t.Subdomain)
		}
		if t.URL == "" {
			var sub struct {
				Subdomain string `json:"subdomain"`
			}
			if err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("workers/subdomain")}, &sub); err == nil && sub.Subdomain != "" {
				t.Subdomain = sub.Subdomain
				t.URL = in.WorkersDevURL(t.Worker, sub.Subdomain)
			}
		}
	}
	if t.URL == "" && t.Subdomain != "" {
		t.URL = in.WorkersDevURL(t.Worker, t.Subdomain)
	}
	return t, nil
}

func onlyAccount(ctx context.Context, api *cfapi.Client) (string, error) {
	a, err := api.OnlyAccount(ctx)
	if err != nil {
		return "", fmt.Errorf("list accounts: %w", err)
	}
	return a.ID, nil
}

// ServiceToken returns the Access service token deploy created.
func (t *Target) ServiceToken() assistant.ServiceToken {
	return assistant.ServiceToken{ClientID: t.State.Access.ServiceTokenClientID, ClientSecret: t.Credentials.ServiceTokenClientSecret}
}

// Assistant returns the client of the deployed Worker, or an error saying
// what is missing.
func (t *Target) Assistant() (*assistant.Client, error) {
	if t.URL == "" {
		return nil, &clierr.HintError{
			Err: fmt.Errorf("the URL of Worker %q is unknown: no deploy is recorded in %s", t.Worker, t.Store.Dir),
			Fix: "run `moltctl deploy` first (or set CLOUDFLARE_API_TOKEN so moltctl can look the Worker up)",
		}
	}
	c := assistant.New(t.URL, t.ServiceToken(), t.httpClient)
	c.UserAgent = "moltctl"
	return c, nil
}

// RequireAdmin fails unless the service token the admin API needs is known.
func (t *Target) RequireAdmin() error {
	if t.ServiceToken().ClientID != "" && t.ServiceToken().ClientSecret != "" {
		return nil
	}
	if t.Keeper != nil && t.Keeper.Locked {
		return &clierr.HintError{
			Err: fmt.Errorf("cannot call the admin API of %q: the Access service token's secret is sealed in the account to a key this machine lacks", t.Worker),
			Fix: "copy moltctl's key file (~/.config/moltctl/age.key) from the machine that deployed, or set $" + remotestate.EnvKey + " (docs/state.md)",
		}
	}
	why := "no Access service token is recorded"
	if t.ServiceToken().ClientID != "" {
		why = "the Access service token's secret is missing from " + t.Store.CredentialsPath()
	}
	return &clierr.HintError{
		Err: fmt.Errorf("cannot call the admin API of %q: %s", t.Worker, why),
		Fix: "run `moltctl deploy`: it creates the Access application and service token and keeps the secret in .moltctl/",
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
