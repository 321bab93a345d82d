package importcmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// Sentinels: valid values, unique enough to search for.
const (
	sentDiscord   = "SENTINELdiscordTokenPart1AB.GaBcDe.SENTINELdiscordTokenPartThree0"
	sentAnthropic = "sk-ant-api03-SENTINELimportValue0123456789abcdefghijklm"
)

func run(t *testing.T, fx *opstest.Fixture, asJSON bool, file string) (string, string, error) {
	t.Helper()
	f, _, output := fx.Factory()
	if asJSON {
		f.Global.Output = cmdutil.OutputJSON
	}
	err := importRun(context.Background(), &ImportOptions{Factory: f, File: file, ValuesFile: DefaultValuesFile})
	out, errOut := output()
	for _, v := range []string{sentDiscord, sentAnthropic, "SENTINEL"} {
		opstest.NoLeak(t, v, err, out, errOut)
	}
	return out, errOut, err
}

func TestImportRun(t *testing.T) {
	t.Parallel()
	for _, asJSON := range []bool{false, true} {
		t.Run(map[bool]string{false: "text", true: "json"}[asJSON], func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			fx.WriteFile(t, "moltctl.yaml", "secrets:\n  CF_ACCESS_AUD: deploy\n", 0o644)
			fx.WriteFile(t, ".dev.vars", "DISCORD_BOT_TOKEN="+sentDiscord+"\nANTHROPIC_API_KEY="+sentAnthropic+
				"\nDEV_MODE=true\nSANDBOX_SLEEP_AFTER=1h\nTELEGRAM_BOT_TOKEN=\nCF_ACCESS_AUD=SENTINELaud\n", 0o600)
			out, errOut, err := run(t, fx, asJSON, ".dev.vars")
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}

			// The values go to a private file, moltctl.yaml gets their sources.
			vf := filepath.Join(fx.Dir, DefaultValuesFile)
			fi, err := os.Stat(vf)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("values file: %v %v", err, fi)
			}
			b, _ := os.ReadFile(vf)
			if !strings.Contains(string(b), sentDiscord) || !strings.Contains(string(b), sentAnthropic) || strings.Contains(string(b), "SENTINELaud") {
				t.Errorf("values file holds the wrong values")
			}
			m, _ := os.ReadFile(filepath.Join(fx.Dir, "moltctl.yaml"))
			for _, w := range []string{"DISCORD_BOT_TOKEN: {dotenv: .moltctl/secrets.env}", "ANTHROPIC_API_KEY: {dotenv: .moltctl/secrets.env}",
				`SANDBOX_SLEEP_AFTER: "1h"`, "CF_ACCESS_AUD: deploy"} {
				if !strings.Contains(string(m), w) {
					t.Errorf("moltctl.yaml lacks %q:\n%s", w, m)
				}
			}
			opstest.NoLeak(t, "SENTINEL", nil, string(m))
			if strings.Contains(string(m), "DEV_MODE") || strings.Contains(string(m), "TELEGRAM_BOT_TOKEN") {
				t.Errorf("a skipped entry reached moltctl.yaml:\n%s", m)
			}

			if asJSON {
				var res map[string]any
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, out)
				}
				for _, k := range []string{"manifest", "values_file", "secrets", "vars", "skipped", "warnings"} {
					if _, ok := res[k]; !ok {
						t.Errorf("key %q missing:\n%s", k, out)
					}
				}
				var r Result
				_ = json.Unmarshal([]byte(out), &r)
				if r.ValuesFile != DefaultValuesFile || strings.Join(r.Secrets, ",") != "DISCORD_BOT_TOKEN,ANTHROPIC_API_KEY" ||
					strings.Join(r.Vars, ",") != "SANDBOX_SLEEP_AFTER" || len(r.Skipped) != 3 {
					t.Errorf("result %+v", r)
				}
				reasons := map[string]string{}
				for _, s := range r.Skipped {
					reasons[s.Name] = s.Reason
				}
				if !strings.Contains(reasons["DEV_MODE"], "Cloudflare Access") || reasons["TELEGRAM_BOT_TOKEN"] != "empty value" ||
					!strings.Contains(reasons["CF_ACCESS_AUD"], "deploy") {
					t.Errorf("skipped %v", reasons)
				}
				return
			}
			for _, w := range []string{"✓ Imported 2 secrets into moltctl.yaml (values in .moltctl/secrets.env, mode 0600): DISCORD_BOT_TOKEN, ANTHROPIC_API_KEY",
				"✓ Imported 1 vars: SANDBOX_SLEEP_AFTER"} {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range []string{"skipped DEV_MODE", "skipped TELEGRAM_BOT_TOKEN: empty value", "skipped CF_ACCESS_AUD", "Next: moltctl secrets check"} {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// A second import merges into the values file instead of replacing it.
func TestImportMerges(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.WriteFile(t, "a.env", "DISCORD_BOT_TOKEN="+sentDiscord+"\n", 0o600)
	fx.WriteFile(t, "b.env", "ANTHROPIC_API_KEY="+sentAnthropic+"\n", 0o600)
	for _, f := range []string{"a.env", "b.env"} {
		if _, errOut, err := run(t, fx, false, f); err != nil {
			t.Fatalf("%s: %v\n%s", f, err, errOut)
		}
	}
	b, _ := os.ReadFile(filepath.Join(fx.Dir, DefaultValuesFile))
	if !strings.Contains(string(b), sentDiscord) || !strings.Contains(string(b), sentAnthropic) {
		t.Error("the second import lost the first one's value")
	}
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string // "" writes no file
		want    string
		fix     string
	}{
		{name: "no such file", want: "in.env does not exist", fix: "pass the path"},
		{name: "invalid value", content: "OPENAI_API_KEY=" + sentAnthropic + "\n", want: "nothing imported", fix: "correct the values in in.env"},
		{name: "nothing to import", content: "DEV_MODE=true\nEMPTY=\n", want: "nothing to import from in.env"},
		{name: "not a dotenv file", content: "just some text\n", want: "in.env:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			const manifest = "secrets:\n  CF_ACCESS_AUD: deploy\n"
			fx.WriteFile(t, "moltctl.yaml", manifest, 0o644)
			if tt.content != "" {
				fx.WriteFile(t, "in.env", tt.content, 0o600)
			}
			out, _, err := run(t, fx, false, "in.env")
			if code := clierr.ExitCodeOf(err); code != clierr.ExitUsage || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit %d err %v, want %d %q", code, err, clierr.ExitUsage, tt.want)
			}
			if h := clierr.HintOf(err); !strings.Contains(h, tt.fix) {
				t.Errorf("fix %q, want %q", h, tt.fix)
			}
			if out != "" {
				t.Errorf("stdout on error: %q", out)
			}
			// Nothing half-applied.
			if m, _ := os.ReadFile(filepath.Join(fx.Dir, "moltctl.yaml")); string(m) != manifest {
				t.Errorf("moltctl.yaml changed:\n%s", m)
			}
			if _, err := os.Stat(filepath.Join(fx.Dir, DefaultValuesFile)); err == nil {
				t.Error("a values file was written")
			}
		})
	}
}

func TestNewCmdImportFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args       []string
		file, vals string
		ok         bool
	}{
		{[]string{".dev.vars"}, ".dev.vars", DefaultValuesFile, true},
		{[]string{".env", "--values-file", "/tmp/prod.env"}, ".env", "/tmp/prod.env", true},
		{nil, "", "", false},
		{[]string{"a", "b"}, "", "", false},
	}
	for _, tt := range tests {
		fx := opstest.New(t)
		f, _, _ := fx.Factory()
		var got *ImportOptions
		cmd := NewCmdImport(f, func(_ context.Context, o *ImportOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if !tt.ok {
			if err == nil {
				t.Errorf("%v accepted", tt.args)
			}
			continue
		}
		if err != nil || got.File != tt.file || got.ValuesFile != tt.vals {
			t.Errorf("%v: err %v opts %+v", tt.args, err, got)
		}
	}
}
