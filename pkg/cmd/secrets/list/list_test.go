package list

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
)

// Sentinels: valid values, unique enough to search for.
const (
	sentAnthropic = "sk-ant-api03-SENTINELlistValue0123456789abcdefghijklmnop"
	sentOpenAI    = "sk-proj-SENTINELlistOpenAI0123456789abcdefghijklmnopq"
	sentRemote    = "SENTINEL-remote-only-value"
)

const manifestYAML = `secrets:
  ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}
  OPENAI_API_KEY: {env: OPENAI_API_KEY}
  TELEGRAM_BOT_TOKEN: {env: TELEGRAM_BOT_TOKEN}
  DISCORD_BOT_TOKEN: {env: DISCORD_BOT_TOKEN}
  SLACK_BOT_TOKEN: {env: SLACK_BOT_TOKEN}
  CF_ACCESS_AUD: deploy
`

// project prepares a Worker holding every kind of secret list tells
// apart, and the digests of what this machine last sent:
//
//	ANTHROPIC_API_KEY   sent, unchanged           ok
//	OPENAI_API_KEY      sent, changed since       changed
//	TELEGRAM_BOT_TOKEN  not on Cloudflare         missing
//	DISCORD_BOT_TOKEN   set without a digest      untracked
//	SLACK_BOT_TOKEN     sent, env now empty       unresolved
//	CF_ACCESS_AUD       from deploy               deploy
//	LEFTOVER            not in moltctl.yaml       extra
func project(t *testing.T) *opstest.Fixture {
	t.Helper()
	fx := opstest.New(t)
	fx.WriteFile(t, "moltctl.yaml", manifestYAML, 0o644)
	fx.AddWorker(map[string]string{
		"ANTHROPIC_API_KEY": sentAnthropic, "OPENAI_API_KEY": "sk-proj-SENTINELold", "DISCORD_BOT_TOKEN": "x",
		"SLACK_BOT_TOKEN": "xoxb-SENTINEL", "CF_ACCESS_AUD": "aud", "LEFTOVER": sentRemote,
	})
	fx.Env["ANTHROPIC_API_KEY"] = sentAnthropic
	fx.Env["OPENAI_API_KEY"] = sentOpenAI
	st, err := state.Open(fx.Dir, opstest.Worker)
	if err != nil {
		t.Fatal(err)
	}
	key, err := st.HMACKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(&state.Deployment{WorkerName: opstest.Worker, AccountID: fx.Srv.AccountID(), Secrets: map[string]string{
		"ANTHROPIC_API_KEY": secrets.Digest(key, sentAnthropic),
		"OPENAI_API_KEY":    secrets.Digest(key, "sk-proj-SENTINELold"),
		"SLACK_BOT_TOKEN":   secrets.Digest(key, "xoxb-SENTINEL"),
	}}); err != nil {
		t.Fatal(err)
	}
	return fx
}

var wantStatus = map[string]string{
	"ANTHROPIC_API_KEY": StatusOK, "OPENAI_API_KEY": StatusChanged, "TELEGRAM_BOT_TOKEN": StatusMissing,
	"DISCORD_BOT_TOKEN": StatusUntracked, "SLACK_BOT_TOKEN": StatusUnresolved, "CF_ACCESS_AUD": StatusDeploy, "LEFTOVER": StatusExtra,
}

func noLeak(t *testing.T, err error, out ...string) {
	t.Helper()
	for _, v := range []string{sentAnthropic, sentOpenAI, sentRemote, "SENTINEL"} {
		opstest.NoLeak(t, v, err, out...)
	}
}

func TestListJSON(t *testing.T) {
	t.Parallel()
	fx := project(t)
	f, _, output := fx.Factory()
	f.Global.Output = cmdutil.OutputJSON
	err := listRun(context.Background(), &ListOptions{Factory: f})
	out, errOut := output()
	noLeak(t, err, out, errOut)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var raw struct {
		Worker  string           `json:"worker"`
		Secrets []map[string]any `json:"secrets"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if raw.Worker != opstest.Worker || len(raw.Secrets) != len(wantStatus) {
		t.Fatalf("worker %q, %d secrets:\n%s", raw.Worker, len(raw.Secrets), out)
	}
	for i, r := range raw.Secrets {
		name, _ := r["name"].(string)
		if r["status"] != wantStatus[name] {
			t.Errorf("%s: status %v, want %s", name, r["status"], wantStatus[name])
		}
		if _, ok := r["in_manifest"].(bool); !ok {
			t.Errorf("%s: in_manifest missing", name)
		}
		if on, _ := r["on_cloudflare"].(bool); on != (name != "TELEGRAM_BOT_TOKEN") {
			t.Errorf("%s: on_cloudflare %v", name, r["on_cloudflare"])
		}
		// moltctl.yaml's order, then the extras.
		if name == "LEFTOVER" && (i != len(raw.Secrets)-1 || r["source"] != nil || r["in_manifest"] != false) {
			t.Errorf("extra row: %d %v", i, r)
		}
	}
	if raw.Secrets[0]["name"] != "ANTHROPIC_API_KEY" || raw.Secrets[0]["source"] != "env ANTHROPIC_API_KEY" {
		t.Errorf("first row %v", raw.Secrets[0])
	}
}

func TestListText(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{false, true} {
		t.Run(map[bool]string{false: "piped", true: "terminal"}[tty], func(t *testing.T) {
			t.Parallel()
			fx := project(t)
			f, ios, output := fx.Factory()
			ios.SetTTY(tty)
			err := listRun(context.Background(), &ListOptions{Factory: f})
			out, errOut := output()
			noLeak(t, err, out, errOut)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			header := strings.HasPrefix(lines[0], "NAME")
			if header != tty {
				t.Errorf("header shown %v on a terminal %v:\n%s", header, tty, out)
			}
			if tty {
				lines = lines[1:]
			}
			if len(lines) != len(wantStatus) {
				t.Fatalf("%d rows:\n%s", len(lines), out)
			}
			for _, l := range lines {
				fields := strings.Fields(l)
				if want := statusText[wantStatus[fields[0]]]; !strings.HasSuffix(l, want) {
					t.Errorf("row %q does not end in %q", l, want)
				}
			}
			if !strings.Contains(out, "LEFTOVER   ") || !strings.Contains(out, "-  ") {
				t.Errorf("extra row without a source:\n%s", out)
			}
		})
	}
}

func TestListErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(*opstest.Fixture)
		code    int
		want    string
		fix     string
	}{
		{name: "no Worker yet", prepare: func(fx *opstest.Fixture) { fx.WriteFile(t, "moltctl.yaml", manifestYAML, 0o644) },
			code: clierr.ExitError, want: "does not exist yet", fix: "moltctl deploy"},
		{name: "no token", prepare: func(fx *opstest.Fixture) { fx.AddWorker(nil); delete(fx.Env, "CLOUDFLARE_API_TOKEN") },
			code: clierr.ExitUsage, want: "CLOUDFLARE_API_TOKEN", fix: "export CLOUDFLARE_API_TOKEN"},
		{name: "broken moltctl.yaml", prepare: func(fx *opstest.Fixture) {
			fx.AddWorker(nil)
			fx.WriteFile(t, "moltctl.yaml", "secrets:\n  A: {env: B\n", 0o644)
		}, code: clierr.ExitUsage, want: "moltctl.yaml:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := opstest.New(t)
			tt.prepare(fx)
			f, _, output := fx.Factory()
			err := listRun(context.Background(), &ListOptions{Factory: f})
			out, _ := output()
			if code := clierr.ExitCodeOf(err); code != tt.code || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit %d err %v, want %d %q", code, err, tt.code, tt.want)
			}
			if h := clierr.HintOf(err); !strings.Contains(h, tt.fix) {
				t.Errorf("fix %q, want %q", h, tt.fix)
			}
			if out != "" {
				t.Errorf("stdout on error: %q", out)
			}
		})
	}
}

// Without moltctl.yaml every secret on Cloudflare is extra, with a warning.
func TestListWithoutManifest(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.AddWorker(map[string]string{"B": sentRemote, "A": sentRemote})
	f, _, output := fx.Factory()
	f.Global.Output = cmdutil.OutputJSON
	err := listRun(context.Background(), &ListOptions{Factory: f})
	out, errOut := output()
	noLeak(t, err, out, errOut)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Secrets) != 2 || res.Secrets[0].Name != "A" || res.Secrets[1].Name != "B" ||
		res.Secrets[0].Status != StatusExtra || res.Secrets[1].Status != StatusExtra {
		t.Errorf("rows %+v, want A and B as extra, sorted", res.Secrets)
	}
	if !strings.Contains(errOut, "no moltctl.yaml") {
		t.Errorf("no warning: %q", errOut)
	}
}

func TestListEmpty(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.WriteFile(t, "moltctl.yaml", "secrets: {}\n", 0o644)
	fx.AddWorker(nil)
	f, _, output := fx.Factory()
	err := listRun(context.Background(), &ListOptions{Factory: f})
	out, errOut := output()
	if err != nil || out != "" || !strings.Contains(errOut, "No secrets on molt") {
		t.Fatalf("err %v stdout %q stderr %q", err, out, errOut)
	}
}
