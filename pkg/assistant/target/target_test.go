package target

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

const worker = "molt"

// devURL stands in for the Factory's workers.dev URL template.
func devURL(name, sub string) string { return "https://" + name + "." + sub + ".workers.dev" }

// project writes a wrangler.jsonc with body and loads it.
func project(t *testing.T, body string) *wrangler.Config {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "wrangler.jsonc")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := wrangler.Load(p, "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func moltProject(t *testing.T) *wrangler.Config {
	return project(t, `{"name": "molt", "main": "src/index.ts", "compatibility_date": "2025-05-06"}`)
}

// save writes local state (and credentials when creds is not nil).
func save(t *testing.T, cfg *wrangler.Config, d *state.Deployment, creds *state.Credentials) {
	t.Helper()
	st, err := state.Open(cfg.ProjectDir(), cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	if d.Secrets == nil {
		d.Secrets = map[string]string{}
	}
	d.WorkerName = cfg.Name
	if err := st.Save(d); err != nil {
		t.Fatal(err)
	}
	if creds != nil {
		if err := st.SaveCredentials(creds); err != nil {
			t.Fatal(err)
		}
	}
}

type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(s string) { w.mu.Lock(); w.msgs = append(w.msgs, s); w.mu.Unlock() }
func (w *warnings) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

// emulator starts a cfemu for the scenario and returns it with an API
// client that knows no account yet (as when neither --account nor
// CLOUDFLARE_ACCOUNT_ID is given).
func emulator(t *testing.T, scenario string) (*cfemu.Server, *cfapi.Client) {
	t.Helper()
	srv := cfemu.New(cfemu.Options{Scenario: scenario}).Start()
	t.Cleanup(srv.Close)
	return srv, cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token()})
}

func inputs(t *testing.T, cfg *wrangler.Config, api *cfapi.Client, w *warnings) Inputs {
	home := t.TempDir() // no key file: credentials in the account stay sealed
	return Inputs{Config: cfg, API: api, APIErr: errors.New("CLOUDFLARE_API_TOKEN is not set"),
		Getenv: func(k string) string {
			if k == "HOME" {
				return home
			}
			return ""
		},
		Warn: w.add, WorkersDevURL: devURL}
}

func TestResolveWithoutAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		wrangler  string
		account   string // --account
		state     *state.Deployment
		needAPI   bool
		wantErr   string
		wantURL   string
		wantAcct  string
		wantStErr bool
	}{
		{name: "nothing deployed", wantURL: "", wantAcct: ""},
		{name: "account from wrangler.jsonc",
			wrangler: `{"name": "molt", "account_id": "cfg-acct"}`, wantAcct: "cfg-acct"},
		{name: "saved state gives URL and account",
			state:   &state.Deployment{URL: "https://molt.saved.example", AccountID: "state-acct"},
			wantURL: "https://molt.saved.example", wantAcct: "state-acct"},
		{name: "URL from the saved subdomain",
			state:   &state.Deployment{Subdomain: "sub"},
			wantURL: "https://molt.sub.workers.dev"},
		{name: "the saved URL wins over the subdomain",
			state:   &state.Deployment{URL: "https://custom.example", Subdomain: "sub"},
			wantURL: "https://custom.example"},
		{name: "--account wins over state and config",
			wrangler: `{"name": "molt", "account_id": "cfg-acct"}`, account: "flag-acct",
			state: &state.Deployment{AccountID: "state-acct"}, wantAcct: "flag-acct"},
		{name: "state wins over config",
			wrangler: `{"name": "molt", "account_id": "cfg-acct"}`,
			state:    &state.Deployment{AccountID: "state-acct"}, wantAcct: "state-acct"},
		{name: "needs the API", needAPI: true, wantErr: "CLOUDFLARE_API_TOKEN is not set"},
		{name: "no name", wrangler: `{"main": "src/index.ts"}`, wantErr: `has no "name"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := tt.wrangler
			if body == "" {
				body = `{"name": "molt"}`
			}
			cfg := project(t, body)
			if tt.state != nil {
				save(t, cfg, tt.state, nil)
			}
			w := &warnings{}
			in := inputs(t, cfg, nil, w)
			in.AccountID = tt.account
			got, err := Resolve(context.Background(), in, tt.needAPI)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.wantURL || got.AccountID != tt.wantAcct {
				t.Errorf("URL %q account %q, want %q %q", got.URL, got.AccountID, tt.wantURL, tt.wantAcct)
			}
			if got.API != nil || got.Keeper != nil {
				t.Error("API or Keeper set without an API client")
			}
			if got.State == nil || got.Credentials == nil || got.StateErr != nil {
				t.Errorf("State %v Credentials %v StateErr %v: want both set and no error", got.State, got.Credentials, got.StateErr)
			}
			if got.Worker != worker || got.ProjectDir != cfg.ProjectDir() {
				t.Errorf("Worker %q dir %q", got.Worker, got.ProjectDir)
			}
		})
	}
}

func TestResolveNoNameIsUsageError(t *testing.T) {
	t.Parallel()
	cfg := project(t, `{"main": "src/index.ts"}`)
	_, err := Resolve(context.Background(), inputs(t, cfg, nil, &warnings{}), false)
	if code := clierr.ExitCodeOf(err); code != clierr.ExitUsage {
		t.Errorf("exit code %d, want %d (%v)", code, clierr.ExitUsage, err)
	}
	if h := clierr.HintOf(err); !strings.Contains(h, "name") {
		t.Errorf("hint %q does not name the fix", h)
	}
}

func TestResolveDamagedStateIsReported(t *testing.T) {
	t.Parallel()
	cfg := moltProject(t)
	st, err := state.Open(cfg.ProjectDir(), worker)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir, "state.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(context.Background(), inputs(t, cfg, nil, &warnings{}), false)
	if err != nil {
		t.Fatal(err)
	}
	if got.StateErr == nil {
		t.Error("StateErr is nil for a damaged state file")
	}
	if got.State == nil || got.State.WorkerName != worker || got.State.Secrets == nil {
		t.Errorf("State after a damaged file: %+v, want an empty one for %q", got.State, worker)
	}
}

func TestResolveWithAPI(t *testing.T) {
	t.Parallel()
	t.Run("only account and subdomain looked up", func(t *testing.T) {
		t.Parallel()
		srv, api := emulator(t, cfemu.ScenarioReady)
		var sub string
		srv.View(func(st *cfemu.State) { sub = st.Account.Subdomain })
		w := &warnings{}
		got, err := Resolve(context.Background(), inputs(t, moltProject(t), api, w), true)
		if err != nil {
			t.Fatal(err)
		}
		if got.AccountID != srv.AccountID() || api.AccountID() != srv.AccountID() {
			t.Errorf("account %q (client %q), want the only one %q", got.AccountID, api.AccountID(), srv.AccountID())
		}
		if sub == "" || got.Subdomain != sub || got.URL != devURL(worker, sub) {
			t.Errorf("subdomain %q URL %q, want %q %q", got.Subdomain, got.URL, sub, devURL(worker, sub))
		}
		if got.API != api || got.Keeper == nil {
			t.Error("API or Keeper not set")
		}
		if w.String() != "" {
			t.Errorf("warnings: %s", w)
		}
	})

	t.Run("--account is used as given", func(t *testing.T) {
		t.Parallel()
		srv, api := emulator(t, cfemu.ScenarioReady)
		in := inputs(t, moltProject(t), api, &warnings{})
		in.AccountID = srv.AccountID()
		got, err := Resolve(context.Background(), in, true)
		if err != nil || got.AccountID != srv.AccountID() || api.AccountID() != srv.AccountID() {
			t.Fatalf("account %v, err %v", got, err)
		}
	})

	t.Run("saved state: no subdomain lookup", func(t *testing.T) {
		t.Parallel()
		srv, api := emulator(t, cfemu.ScenarioReady)
		cfg := moltProject(t)
		save(t, cfg, &state.Deployment{AccountID: srv.AccountID(), URL: "https://molt.saved.example", Subdomain: "saved"}, nil)
		got, err := Resolve(context.Background(), inputs(t, cfg, api, &warnings{}), true)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != "https://molt.saved.example" || got.Subdomain != "saved" || got.AccountID != srv.AccountID() {
			t.Errorf("URL %q subdomain %q account %q: the saved state was not used", got.URL, got.Subdomain, got.AccountID)
		}
	})

	t.Run("the account's state wins over the local copy", func(t *testing.T) {
		t.Parallel()
		srv, api := emulator(t, cfemu.ScenarioReady)
		api.SetAccountID(srv.AccountID())
		// Another checkout deployed and recorded its state in the account.
		other := moltProject(t)
		ost, err := state.Open(other.ProjectDir(), worker)
		if err != nil {
			t.Fatal(err)
		}
		k, err := remotestate.NewKeeper(api, ost, worker, func(string) string { return "" }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := k.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := k.Save(context.Background(), &state.Deployment{SchemaVersion: state.SchemaVersion, WorkerName: worker,
			AccountID: srv.AccountID(), URL: "https://molt.remote.example", Secrets: map[string]string{}}, &state.Credentials{Generated: map[string]string{}}); err != nil {
			t.Fatal(err)
		}
		cfg := moltProject(t)
		save(t, cfg, &state.Deployment{AccountID: srv.AccountID(), URL: "https://molt.stale.example"}, nil)
		got, err := Resolve(context.Background(), inputs(t, cfg, api, &warnings{}), true)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != "https://molt.remote.example" {
			t.Errorf("URL %q, want the account's", got.URL)
		}
	})

	t.Run("no subdomain: URL unknown", func(t *testing.T) {
		t.Parallel()
		_, api := emulator(t, cfemu.ScenarioNewAccount)
		got, err := Resolve(context.Background(), inputs(t, moltProject(t), api, &warnings{}), true)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != "" || got.Subdomain != "" {
			t.Errorf("URL %q subdomain %q on an account without a workers.dev subdomain", got.URL, got.Subdomain)
		}
		if _, err := got.Assistant(); err == nil {
			t.Error("Assistant() without a URL succeeded")
		}
	})

	t.Run("token refused", func(t *testing.T) {
		t.Parallel()
		srv, _ := emulator(t, cfemu.ScenarioReady)
		api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: "not-a-token"})
		_, err := Resolve(context.Background(), inputs(t, moltProject(t), api, &warnings{}), false)
		if err == nil || !strings.Contains(err.Error(), "list accounts") {
			t.Fatalf("err = %v, want the account lookup's", err)
		}
	})
}

// A local state recorded for another account: without --account that
// account is used. The token cannot read it, which reads as an account
// without R2 (Cloudflare answers 403 alike): the command goes on with the
// local copy and says that the state stays local, with or without needAPI.
func TestResolveStateOfAnotherAccount(t *testing.T) {
	t.Parallel()
	const other = "0123456789abcdef0123456789abcdef"
	for _, needAPI := range []bool{false, true} {
		t.Run(map[bool]string{false: "local copy", true: "needs API"}[needAPI], func(t *testing.T) {
			t.Parallel()
			srv, api := emulator(t, cfemu.ScenarioReady)
			cfg := moltProject(t)
			save(t, cfg, &state.Deployment{AccountID: other, URL: "https://molt.elsewhere.example"}, nil)
			w := &warnings{}
			got, err := Resolve(context.Background(), inputs(t, cfg, api, w), needAPI)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccountID != other || api.AccountID() != other || got.URL != "https://molt.elsewhere.example" {
				t.Errorf("account %q (client %q) URL %q, want the local state's", got.AccountID, api.AccountID(), got.URL)
			}
			if !strings.Contains(w.String(), "stays in .moltctl/") {
				t.Errorf("no warning that the state stays local: %q", w)
			}

			// --account names the token's account: the local state's is not used.
			in := inputs(t, cfg, api, &warnings{})
			in.AccountID = srv.AccountID()
			got, err = Resolve(context.Background(), in, needAPI)
			if err != nil || got.AccountID != srv.AccountID() || api.AccountID() != srv.AccountID() {
				t.Errorf("with --account: account %q err %v", got.AccountID, err)
			}
		})
	}
}

func TestServiceTokenAndAssistant(t *testing.T) {
	t.Parallel()
	cfg := moltProject(t)
	save(t, cfg, &state.Deployment{URL: "https://molt.saved.example", Access: state.Access{ServiceTokenClientID: "id.access"}},
		&state.Credentials{ServiceTokenClientSecret: "SENTINEL-service-secret", Generated: map[string]string{}})
	got, err := Resolve(context.Background(), inputs(t, cfg, nil, &warnings{}), false)
	if err != nil {
		t.Fatal(err)
	}
	tok := got.ServiceToken()
	if tok.ClientID != "id.access" || tok.ClientSecret != "SENTINEL-service-secret" {
		t.Errorf("ServiceToken() = %q/%q", tok.ClientID, tok.ClientSecret)
	}
	c, err := got.Assistant()
	if err != nil || c == nil {
		t.Fatalf("Assistant(): %v", err)
	}
	if err := got.RequireAdmin(); err != nil {
		t.Errorf("RequireAdmin() with a full service token: %v", err)
	}
}

func TestAssistantAndAdminErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		target    func(*Target)
		assistant string // "" when Assistant() succeeds
		admin     string
		adminFix  string
	}{
		{name: "nothing deployed", target: func(*Target) {},
			assistant: "is unknown", admin: "no Access service token is recorded", adminFix: "moltctl deploy"},
		{name: "secret missing",
			target: func(t *Target) { t.URL = "https://x.example"; t.State.Access.ServiceTokenClientID = "id" },
			admin:  "secret is missing from", adminFix: "moltctl deploy"},
		{name: "sealed in the account",
			target: func(t *Target) {
				t.URL = "https://x.example"
				t.State.Access.ServiceTokenClientID = "id"
				t.Keeper = &remotestate.Keeper{Locked: true}
			},
			admin: "sealed", adminFix: remotestate.EnvKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := moltProject(t)
			tg, err := Resolve(context.Background(), inputs(t, cfg, nil, &warnings{}), false)
			if err != nil {
				t.Fatal(err)
			}
			tt.target(tg)
			_, err = tg.Assistant()
			switch {
			case tt.assistant == "" && err != nil:
				t.Errorf("Assistant(): %v", err)
			case tt.assistant != "":
				if err == nil || !strings.Contains(err.Error(), tt.assistant) || !strings.Contains(err.Error(), tg.Store.Dir) {
					t.Errorf("Assistant() err = %v, want %q and the state directory", err, tt.assistant)
				}
				if h := clierr.HintOf(err); !strings.Contains(h, "moltctl deploy") || !strings.Contains(h, "CLOUDFLARE_API_TOKEN") {
					t.Errorf("Assistant() hint %q", h)
				}
			}
			err = tg.RequireAdmin()
			if err == nil || !strings.Contains(err.Error(), tt.admin) {
				t.Errorf("RequireAdmin() err = %v, want %q", err, tt.admin)
			}
			if h := clierr.HintOf(err); !strings.Contains(h, tt.adminFix) {
				t.Errorf("RequireAdmin() hint %q, want %q", h, tt.adminFix)
			}
		})
	}
}
