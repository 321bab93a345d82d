package check

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/state"
)

// sentinel is a valid Anthropic key, unique enough to search for.
const sentinel = "sk-ant-api03-SENTINELcheckValue0123456789abcdefghijklmn"

const manifestYAML = `secrets:
  MOLTBOT_GATEWAY_TOKEN: {generate: hex32}
  ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}
  CF_ACCESS_AUD: deploy
  CF_ACCESS_TEAM_DOMAIN: deploy
vars:
  SANDBOX_SLEEP_AFTER: 10m
`

func TestCheckRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string // "" writes none
		key      string // $ANTHROPIC_API_KEY
		wantCode int
		wantErr  string // in the error (text of a returned error)
		stdout   []string
		stderr   []string
		statuses map[string]string // JSON: status by name
	}{
		{name: "valid", manifest: manifestYAML, key: sentinel,
			stdout:   []string{"✓ MOLTBOT_GATEWAY_TOKEN from generate", "✓ ANTHROPIC_API_KEY from env ANTHROPIC_API_KEY", "- CF_ACCESS_AUD from deploy (set by moltctl deploy)"},
			stderr:   []string{"✓ moltctl.yaml is valid: 4 secrets, 1 vars"},
			statuses: map[string]string{"MOLTBOT_GATEWAY_TOKEN": "ok", "ANTHROPIC_API_KEY": "ok", "CF_ACCESS_AUD": "deploy", "CF_ACCESS_TEAM_DOMAIN": "deploy"}},
		{name: "value of the wrong kind", manifest: manifestYAML, key: "0123456789abcdef0123456789abcdef", wantCode: clierr.ExitUsage,
			stdout:   []string{"✗ ANTHROPIC_API_KEY"},
			stderr:   []string{"looks like a Cloudflare account ID", "✗ moltctl.yaml is not valid; nothing would be sent"},
			statuses: map[string]string{"ANTHROPIC_API_KEY": "invalid", "MOLTBOT_GATEWAY_TOKEN": "ok"}},
		{name: "source gives nothing", manifest: manifestYAML, key: "", wantCode: clierr.ExitUsage,
			stdout:   []string{"✗ ANTHROPIC_API_KEY"},
			stderr:   []string{"environment variable ANTHROPIC_API_KEY is not set"},
			statuses: map[string]string{"ANTHROPIC_API_KEY": "unresolved"}},
		{name: "value pasted into moltctl.yaml", manifest: "secrets:\n  ANTHROPIC_API_KEY: " + sentinel + "\n", wantCode: clierr.ExitUsage,
			wantErr: "moltctl.yaml:2:"},
		{name: "no moltctl.yaml", wantCode: clierr.ExitUsage, wantErr: "moltctl.yaml"},
	}
	for _, tt := range tests {
		for _, asJSON := range []bool{false, true} {
			name := tt.name
			if asJSON {
				name += "/json"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fx := opstest.New(t)
				if tt.manifest != "" {
					fx.WriteFile(t, "moltctl.yaml", tt.manifest, 0o644)
				}
				fx.Env["ANTHROPIC_API_KEY"] = tt.key
				f, _, output := fx.Factory()
				if asJSON {
					f.Global.Output = cmdutil.OutputJSON
				}
				err := checkRun(context.Background(), &CheckOptions{Factory: f})
				out, errOut := output()
				opstest.NoLeak(t, sentinel, err, out, errOut)
				if code := clierr.ExitCodeOf(err); code != tt.wantCode {
					t.Fatalf("exit %d, want %d (err %v)\n%s%s", code, tt.wantCode, err, out, errOut)
				}
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err %v, want %q", err, tt.wantErr)
					}
					return
				}
				if asJSON {
					checkJSON(t, out, tt.wantCode == 0, tt.statuses)
					if errOut != "" {
						t.Errorf("JSON run wrote to stderr: %q", errOut)
					}
					return
				}
				for _, w := range tt.stdout {
					if !strings.Contains(out, w) {
						t.Errorf("stdout lacks %q:\n%s", w, out)
					}
				}
				for _, w := range tt.stderr {
					if !strings.Contains(errOut, w) {
						t.Errorf("stderr lacks %q:\n%s", w, errOut)
					}
				}
			})
		}
	}
}

func checkJSON(t *testing.T, out string, ok bool, statuses map[string]string) {
	t.Helper()
	// The names are a contract: decode without the package's types.
	var res struct {
		OK       *bool   `json:"ok"`
		Manifest string  `json:"manifest"`
		Secrets  []Entry `json:"secrets"`
		Vars     []string
		Problems []map[string]any `json:"problems"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"ok", "manifest", "secrets", "vars", "problems"} {
		if _, found := raw[k]; !found {
			t.Errorf("key %q missing:\n%s", k, out)
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.OK == nil || *res.OK != ok || !strings.HasSuffix(res.Manifest, "moltctl.yaml") {
		t.Errorf("ok %v manifest %q:\n%s", res.OK, res.Manifest, out)
	}
	got := map[string]string{}
	for _, e := range res.Secrets {
		got[e.Name] = e.Status
	}
	for n, want := range statuses {
		if got[n] != want {
			t.Errorf("status of %s = %q, want %q:\n%s", n, got[n], want, out)
		}
	}
	if !ok && len(res.Problems) == 0 {
		t.Errorf("not ok and no problems:\n%s", out)
	}
}

// check generates a value to validate it but never keeps it: only
// secrets set and deploy record generated values.
func TestCheckKeepsNoGeneratedValue(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.WriteFile(t, "moltctl.yaml", manifestYAML, 0o644)
	fx.Env["ANTHROPIC_API_KEY"] = sentinel
	f, _, _ := fx.Factory()
	if err := checkRun(context.Background(), &CheckOptions{Factory: f}); err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(fx.Dir, opstest.Worker)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.LoadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Generated) != 0 {
		t.Errorf("check recorded generated values: %v", len(c.Generated))
	}
}

func TestNewCmdCheck(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	f, _, _ := fx.Factory()
	var got *CheckOptions
	cmd := NewCmdCheck(f, func(_ context.Context, o *CheckOptions) error { got = o; return nil })
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil || got == nil || got.Factory != f {
		t.Fatalf("err %v opts %+v", err, got)
	}
	cmd = NewCmdCheck(f, func(context.Context, *CheckOptions) error { t.Fatal("ran with an argument"); return nil })
	cmd.SetArgs([]string{"ANTHROPIC_API_KEY"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Fatal("check with an argument succeeded")
	}
}
