package shared

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
)

const sentinel = "sk-ant-api03-SENTINELsharedValue0123456789abcdefghijklm"

func TestLoadProject(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	f, _, _ := fx.Factory()
	p, err := LoadProject(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Worker != opstest.Worker || p.Dir != fx.Dir || p.ManifestPath != filepath.Join(fx.Dir, "moltctl.yaml") || p.Store == nil {
		t.Errorf("project %+v", p)
	}

	fx.WriteFile(t, "wrangler.jsonc", `{"main": "src/index.ts"}`, 0o644)
	_, err = LoadProject(f)
	if clierr.ExitCodeOf(err) != clierr.ExitUsage || !strings.Contains(clierr.HintOf(err), `"name"`) {
		t.Errorf("no name: exit %d err %v fix %q", clierr.ExitCodeOf(err), err, clierr.HintOf(err))
	}
}

func TestWorkerMissing(t *testing.T) {
	t.Parallel()
	other := errors.New("connection refused")
	tests := []struct {
		name    string
		err     error
		missing bool
	}{
		{"404", &cfapi.APIError{StatusCode: http.StatusNotFound}, true},
		{"code 10007", &cfapi.APIError{StatusCode: http.StatusBadRequest, Errors: []cfapi.ErrorDetail{{Code: 10007}}}, true},
		{"wrapped 404", errors.Join(errors.New("list"), &cfapi.APIError{StatusCode: http.StatusNotFound}), true},
		{"403", &cfapi.APIError{StatusCode: http.StatusForbidden}, false},
		{"other", other, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := WorkerMissing(tt.err, "molt")
			if !tt.missing {
				if got != tt.err {
					t.Errorf("WorkerMissing(%v) = %v, want it unchanged", tt.err, got)
				}
				return
			}
			if got == nil || got.Error() != `worker "molt" does not exist yet on Cloudflare` || !strings.Contains(clierr.HintOf(got), "moltctl deploy") {
				t.Errorf("WorkerMissing(%v) = %v (fix %q)", tt.err, got, clierr.HintOf(got))
			}
		})
	}
}

func TestPrintProblems(t *testing.T) {
	t.Parallel()
	ios, _, out, errOut := iostreams.Test()
	PrintProblems(ios, []secrets.Problem{
		{Name: "A", Severity: secrets.SeverityError, Message: "A is wrong", Fix: "set A"},
		{Severity: secrets.SeverityWarning, Message: "B is odd"},
	})
	if want := "✗ A is wrong\n  fix: set A\n! B is odd\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	if out.Len() != 0 {
		t.Errorf("problems on stdout: %q", out.String())
	}
}

// Client's account: --account or CLOUDFLARE_ACCOUNT_ID, else the saved
// state's, else the only one the token sees.
func TestClientAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		env   string // CLOUDFLARE_ACCOUNT_ID
		saved string
		want  string // "" means the emulator's account
	}{
		{name: "from the environment", env: "env-acct", saved: "saved-acct", want: "env-acct"},
		{name: "from the saved state", saved: "saved-acct", want: "saved-acct"},
		{name: "the only account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			fx.Env["CLOUDFLARE_ACCOUNT_ID"] = tt.env
			f, _, _ := fx.Factory()
			p, err := LoadProject(f)
			if err != nil {
				t.Fatal(err)
			}
			if tt.saved != "" {
				if err := p.Store.Save(&state.Deployment{WorkerName: opstest.Worker, AccountID: tt.saved, Secrets: map[string]string{}}); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Client(context.Background(), f, p)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = fx.Srv.AccountID()
			}
			if c.AccountID() != want {
				t.Errorf("account %q, want %q", c.AccountID(), want)
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	delete(fx.Env, "CLOUDFLARE_API_TOKEN")
	f, _, _ := fx.Factory()
	p, err := LoadProject(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Client(context.Background(), f, p); clierr.ExitCodeOf(err) != clierr.ExitUsage {
		t.Errorf("no token: %v (exit %d)", err, clierr.ExitCodeOf(err))
	}
	fx.Env["CLOUDFLARE_API_TOKEN"] = "not-a-token"
	delete(fx.Env, "CLOUDFLARE_ACCOUNT_ID")
	if _, err := Client(context.Background(), f, p); err == nil || !strings.Contains(err.Error(), "list accounts") {
		t.Errorf("refused token: %v", err)
	}
}

func TestRemoteState(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	f, _, output := fx.Factory()
	p, err := LoadProject(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRemoteState(context.Background(), f, p); err == nil || !strings.Contains(err.Error(), "does not exist yet") {
		t.Fatalf("no Worker: %v", err)
	}

	fx.AddWorker(map[string]string{"ANTHROPIC_API_KEY": sentinel, "OTHER": sentinel})
	rs, err := LoadRemoteState(context.Background(), f, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.OnRemote) != 2 || !rs.OnRemote["ANTHROPIC_API_KEY"] || !rs.OnRemote["OTHER"] {
		t.Errorf("OnRemote %v", rs.OnRemote)
	}
	if rs.Deployment == nil || rs.Credentials == nil || len(rs.DigestKey) != 32 || rs.Locked() {
		t.Errorf("state %+v", rs)
	}
	rs.Release()

	// Held (under the deploy lease), it saves what the command changed.
	held, err := HoldRemoteState(context.Background(), f, p, "moltctl secrets set")
	if err != nil {
		t.Fatal(err)
	}
	if len(held.OnRemote) != 2 {
		t.Errorf("OnRemote %v", held.OnRemote)
	}
	held.Deployment.Secrets["ANTHROPIC_API_KEY"] = "digest"
	if err := held.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	held.Release()
	d, err := p.Store.Load()
	if err != nil || d.Secrets["ANTHROPIC_API_KEY"] != "digest" {
		t.Errorf("saved state %v %v", d, err)
	}
	out, errOut := output()
	opstest.NoLeak(t, sentinel, nil, out, errOut)
}
