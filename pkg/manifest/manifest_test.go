package manifest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/prompt"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
)

func TestParseFull(t *testing.T) {
	t.Parallel()
	m, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		src  Source
	}{
		{"MOLTBOT_GATEWAY_TOKEN", Source{Kind: SourceGenerate, Generate: "hex32"}},
		{"ANTHROPIC_API_KEY", Source{Kind: SourceEnv, Env: "MY_ANTHROPIC_KEY"}},
		{"TELEGRAM_BOT_TOKEN", Source{Kind: SourceFile, File: "telegram.token"}},
		{"DISCORD_BOT_TOKEN", Source{Kind: SourceDotenv, File: "secrets.env"}},
		{"SLACK_BOT_TOKEN", Source{Kind: SourceDotenv, File: "secrets.env", Key: "SLACK_BOT"}},
		{"SLACK_APP_TOKEN", Source{Kind: SourceCommand, Command: []string{"cat", "slack-app.token"}}},
		{"CDP_SECRET", Source{Kind: SourceCommand, Command: []string{"cat cdp.secret | tr -d x"}, Shell: true}},
		{"OPENAI_API_KEY", Source{Kind: SourceEnv, Env: "OPENAI_API_KEY"}},
		{"CF_ACCESS_AUD", Source{Kind: SourceDeploy}},
		{"CF_ACCESS_TEAM_DOMAIN", Source{Kind: SourceDeploy}},
	}
	if len(m.Secrets) != len(want) {
		t.Fatalf("got %d secrets", len(m.Secrets))
	}
	for i, w := range want {
		if m.Secrets[i].Name != w.name || !reflect.DeepEqual(m.Secrets[i].Source, w.src) {
			t.Errorf("secret %d = %+v, want %s %+v", i, m.Secrets[i], w.name, w.src)
		}
	}
	if m.Secrets[0].Line != 3 || m.Secrets[0].Col != 3 {
		t.Errorf("position %d:%d", m.Secrets[0].Line, m.Secrets[0].Col)
	}
	if m.Vars["SANDBOX_SLEEP_AFTER"] != "10m" || m.Vars["DEBUG_ROUTES"] != "false" {
		t.Errorf("vars %v", m.Vars)
	}
	if !reflect.DeepEqual(m.Access, Access{Allow: []string{"me@example.com"}, AllowDomains: []string{"example.org"}}) || !m.Persistence.R2 {
		t.Errorf("access %+v persistence %+v", m.Access, m.Persistence)
	}
	if got := m.DeployNames(); !reflect.DeepEqual(got, []string{"CF_ACCESS_AUD", "CF_ACCESS_TEAM_DOMAIN"}) {
		t.Errorf("deploy names %v", got)
	}
}

func TestParseErrorsHaveLineAndColumn(t *testing.T) {
	t.Parallel()
	const pasted = "sk-ant-api03-PASTEDvalue0123456789abcdefgh"
	tests := []struct {
		name, yaml, want string
	}{
		{"syntax", "secrets:\n  A: {env: B\n", "m.yaml:1:1: did not find expected"},
		{"misplaced key", "secrets:\n  A: env\n   B: {generate: hex32}\n", "m.yaml:3:4: mapping values are not allowed in this context"},
		{"unknown top key", "secret:\n  A: env\n", "m.yaml:1:1: unknown key \"secret\""},
		{"value pasted", "secrets:\n  ANTHROPIC_API_KEY: " + pasted + "\n", "m.yaml:2:22: secrets.ANTHROPIC_API_KEY: not a source"},
		{"two sources", "secrets:\n  A: {env: A, file: x}\n", "m.yaml:2:6: secrets.A: one source only"},
		{"unknown source key", "secrets:\n  A: {environment: A}\n", "m.yaml:2:7: secrets.A: unknown key \"environment\""},
		{"bad env name", "secrets:\n  A: {env: \"1-x\"}\n", "m.yaml:2:12: secrets.A.env"},
		{"deploy not deployable", "secrets:\n  ANTHROPIC_API_KEY: deploy\n", "m.yaml:2:22: secrets.ANTHROPIC_API_KEY: moltctl deploy cannot obtain"},
		{"generate format", "secrets:\n  A: {generate: hex8}\n", "m.yaml:2:17: secrets.A.generate"},
		{"command shell syntax", "secrets:\n  A: {command: \"op read x | tr a b\"}\n", "m.yaml:2:6: secrets.A.command: \"|\" is shell syntax"},
		{"shell without command", "secrets:\n  A: {env: A, shell: true}\n", "m.yaml:2:22: secrets.A.shell"},
		{"secret under vars", "vars:\n  OPENAI_API_KEY: " + pasted + "\n", "m.yaml:2:3: OPENAI_API_KEY is a secret"},
		{"var list", "vars:\n  DEBUG_ROUTES: [a]\n", "m.yaml:2:17: vars.DEBUG_ROUTES"},
		{"bad email", "access:\n  allow: [nobody]\n", "m.yaml:2:11: access.allow"},
		{"r2 not bool", "persistence:\n  r2: yes please\n", "m.yaml:2:7: persistence.r2"},
		{"duplicate", "secrets:\n  A: env\n  A: stdin\n", "m.yaml:3:3: \"A\" appears twice"},
		{"top level list", "- a\n", "m.yaml:1:1: the top level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("m.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), pasted) {
				t.Fatalf("error echoes a value: %v", err)
			}
			var ec interface{ ExitCode() int }
			if !errors.As(err, &ec) || ec.ExitCode() != 2 {
				t.Fatalf("exit code not 2: %T", err)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), FileName))
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

type fakePrompter struct {
	prompt.NoPrompt
	answers map[string]string
	asked   []string
	invalid []string
}

func (p *fakePrompter) Password(title string, validate func(string) error) (string, error) {
	p.asked = append(p.asked, title)
	for name, v := range p.answers {
		if strings.HasPrefix(title, name+" ") {
			if validate("not valid") == nil {
				p.invalid = append(p.invalid, name)
			}
			return v, validate(v)
		}
	}
	return "", errors.New("unexpected prompt")
}

const (
	fakeGatewayToken = "3f9c2a7be41d08c6f5a92e3b7d10c4e8a6f2b9d13c5e7a08f4b6d2c9e1a3f507"
	fakeAnthropic    = "sk-ant-api03-FAKEfakeFAKEfake0123456789abcdefghijklmnopqrstuvwxyz"
	fakeTelegram     = "123456789:AAHfakeFAKEfake0123456789abcdefghij"
	fakeDiscord      = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.FAKEfakeFAKEfake0123456789abcdefghij"
	fakeSlackBot     = "xoxb-123456789012-1234567890123-FAKEfakeFAKEfake01234567"
	fakeSlackApp     = "xapp-1-A0123456789-1234567890123-fakefakefakefake0123456789abcdef"
	fakeCDP          = "cdp-FAKE-shared-secret-0123456789"
	fakeOpenAI       = "sk-proj-FAKEfake0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
)

func setupFull(t *testing.T) *Manifest {
	t.Helper()
	dir := t.TempDir()
	b, _ := os.ReadFile("testdata/full.yaml")
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(FileName, string(b), 0o644)
	write("telegram.token", fakeTelegram+"\n", 0o644)
	write("secrets.env", "# local\nDISCORD_BOT_TOKEN="+fakeDiscord+"\nexport SLACK_BOT='"+fakeSlackBot+"'\n", 0o600)
	write("slack-app.token", fakeSlackApp, 0o600)
	write("cdp.secret", "x"+fakeCDP+"x\n", 0o600)
	m, err := Load(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResolveEverySource(t *testing.T) {
	t.Parallel()
	m := setupFull(t)
	store, err := state.Open(t.TempDir(), "moltbot-sandbox")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MY_ANTHROPIC_KEY": fakeAnthropic}
	var warnings []string
	opts := ResolveOptions{
		Getenv:   func(k string) string { return env[k] },
		Store:    store,
		Prompter: &fakePrompter{answers: map[string]string{"OPENAI_API_KEY": fakeOpenAI}},
		Warn:     func(s string) { warnings = append(warnings, s) },
	}
	vals, err := m.Resolve(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ANTHROPIC_API_KEY": fakeAnthropic, "TELEGRAM_BOT_TOKEN": fakeTelegram, "DISCORD_BOT_TOKEN": fakeDiscord,
		"SLACK_BOT_TOKEN": fakeSlackBot, "SLACK_APP_TOKEN": fakeSlackApp, "CDP_SECRET": fakeCDP, "OPENAI_API_KEY": fakeOpenAI,
	}
	for k, v := range want {
		if got, _ := vals.Get(k); got != v {
			t.Errorf("%s: got %d characters, want the fake", k, len(got))
		}
	}
	if vals.Has("CF_ACCESS_AUD") {
		t.Error("deploy source resolved")
	}
	gen, _ := vals.Get("MOLTBOT_GATEWAY_TOKEN")
	if err := secrets.ValidateValue("MOLTBOT_GATEWAY_TOKEN", gen); err != nil {
		t.Fatalf("generated token: %v", err)
	}
	creds, _ := store.LoadCredentials()
	if creds.Generated["MOLTBOT_GATEWAY_TOKEN"] != gen {
		t.Fatal("generated token not kept in the credentials file")
	}
	fi, _ := os.Stat(store.CredentialsPath())
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v", fi.Mode())
	}
	// The second run reuses it.
	vals2, err := m.Resolve(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if g2, _ := vals2.Get("MOLTBOT_GATEWAY_TOKEN"); g2 != gen {
		t.Fatal("generated token changed between runs")
	}
	if len(warnings) == 0 || !strings.Contains(warnings[0], "telegram.token") || !strings.Contains(warnings[0], "chmod 600") {
		t.Fatalf("no mode warning for a 0644 secrets file: %v", warnings)
	}
	if r := m.Check(vals); !r.OK() {
		t.Fatalf("check: %+v", r.Errors())
	}
}

func TestResolveMissingNonInteractive(t *testing.T) {
	t.Parallel()
	m := setupFull(t)
	_, err := m.Resolve(context.Background(), ResolveOptions{
		Getenv:    func(string) string { return "" },
		Prompter:  prompt.NoPrompt{},
		Generated: map[string]string{},
		Names:     []string{"ANTHROPIC_API_KEY", "OPENAI_API_KEY"},
	})
	var re ResolveErrors
	if !errors.As(err, &re) || len(re) != 2 {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "environment variable MY_ANTHROPIC_KEY is not set") || !strings.Contains(re.Hint(), "export MY_ANTHROPIC_KEY") {
		t.Fatalf("error does not name the source: %v / %s", err, re.Hint())
	}
	if re.ExitCode() != 2 {
		t.Fatal("exit code")
	}
}

func TestResolveStdin(t *testing.T) {
	t.Parallel()
	one, _ := Parse(filepath.Join(t.TempDir(), FileName), []byte("secrets:\n  ANTHROPIC_API_KEY: stdin\n"))
	v, err := one.Resolve(context.Background(), ResolveOptions{Stdin: strings.NewReader(fakeAnthropic + "\n")})
	if got, _ := v.Get("ANTHROPIC_API_KEY"); err != nil || got != fakeAnthropic {
		t.Fatalf("single stdin: %v", err)
	}
	two, _ := Parse(filepath.Join(t.TempDir(), FileName), []byte("secrets:\n  ANTHROPIC_API_KEY: stdin\n  OPENAI_API_KEY: stdin\n"))
	v, err = two.Resolve(context.Background(), ResolveOptions{Stdin: strings.NewReader("ANTHROPIC_API_KEY=" + fakeAnthropic + "\nOPENAI_API_KEY=\"" + fakeOpenAI + "\"\n")})
	a, _ := v.Get("ANTHROPIC_API_KEY")
	o, _ := v.Get("OPENAI_API_KEY")
	if err != nil || a != fakeAnthropic || o != fakeOpenAI {
		t.Fatalf("several stdin: %v", err)
	}
}

func TestResolveCommandFailureHidesNothingSecret(t *testing.T) {
	t.Parallel()
	m, _ := Parse(filepath.Join(t.TempDir(), FileName), []byte("secrets:\n  A: {command: [sh, -c, \"echo boom >&2; exit 3\"]}\n  B: {command: [moltctl-no-such-program-xyz]}\n"))
	_, err := m.Resolve(context.Background(), ResolveOptions{})
	if err == nil || !strings.Contains(err.Error(), "exit status 3: boom") || !strings.Contains(err.Error(), "moltctl-no-such-program-xyz") {
		t.Fatalf("got %v", err)
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	for format, n := range map[string]int{"hex32": 64, "hex16": 32, "base64url32": 43} {
		v, err := Generate(format)
		if err != nil || len(v) != n {
			t.Fatalf("%s: %d characters, %v", format, len(v), err)
		}
		w, _ := Generate(format)
		if v == w {
			t.Fatalf("%s: not random", format)
		}
	}
}

func TestApplyKeepsComments(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), FileName)
	orig := "# my notes\nsecrets:\n  # the key\n  ANTHROPIC_API_KEY: env # keep me\nvars:\n  DEBUG_ROUTES: \"false\"\n"
	os.WriteFile(p, []byte(orig), 0o644)
	err := Apply(p, Edit{
		Secrets: []Secret{{Name: "ANTHROPIC_API_KEY", Source: Source{Kind: SourceDotenv, File: ".moltctl/secrets.env"}},
			{Name: "OPENAI_API_KEY", Source: Source{Kind: SourceCommand, Command: []string{"op", "read", "op://v/i/f"}}}},
		Vars: [][2]string{{"SANDBOX_SLEEP_AFTER", "1h"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	for _, want := range []string{"# my notes", "# the key", "# keep me", "ANTHROPIC_API_KEY: {dotenv: .moltctl/secrets.env}", "OPENAI_API_KEY: {command: [op, read, 'op://v/i/f']}", "SANDBOX_SLEEP_AFTER: \"1h\""} {
		if !strings.Contains(string(b), want) {
			t.Errorf("missing %q in\n%s", want, b)
		}
	}
	m, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Secret("OPENAI_API_KEY"); !reflect.DeepEqual(s.Source.Command, []string{"op", "read", "op://v/i/f"}) {
		t.Fatalf("round trip: %+v", s)
	}
	// A new file starts with the schema line.
	p2 := filepath.Join(t.TempDir(), FileName)
	if err := Apply(p2, Edit{Secrets: []Secret{{Name: "A", Source: Source{Kind: SourceEnv, Env: "A"}}}}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p2)
	if !strings.HasPrefix(string(b), "# yaml-language-server: $schema=") {
		t.Fatalf("no schema line:\n%s", b)
	}
}

func TestApplyKeepsAlignment(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), FileName)
	orig := "# notes\n" +
		"secrets:\n" +
		"  ANTHROPIC_API_KEY: env                  # export it\n" +
		"  MOLTBOT_GATEWAY_TOKEN: {generate: hex32} # made once\n" +
		"  CF_ACCESS_AUD: deploy                   # from Access\n" +
		"vars:\n" +
		"  SANDBOX_SLEEP_AFTER: 10m   # idle time\n" +
		"access:\n" +
		"  allow: [you@example.com]\n"
	os.WriteFile(p, []byte(orig), 0o644)
	err := Apply(p, Edit{
		Secrets: []Secret{{Name: "ANTHROPIC_API_KEY", Source: Source{Kind: SourceDotenv, File: ".moltctl/secrets.env"}},
			{Name: "TELEGRAM_BOT_TOKEN", Source: Source{Kind: SourceEnv, Env: "TG"}}},
		Vars: [][2]string{{"SANDBOX_SLEEP_AFTER", "1h"}, {"DEBUG_ROUTES", "true"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "# notes\n" +
		"secrets:\n" +
		"  ANTHROPIC_API_KEY: {dotenv: .moltctl/secrets.env} # export it\n" +
		"  MOLTBOT_GATEWAY_TOKEN: {generate: hex32} # made once\n" +
		"  CF_ACCESS_AUD: deploy                   # from Access\n" +
		"  TELEGRAM_BOT_TOKEN: {env: TG}\n" +
		"vars:\n" +
		"  SANDBOX_SLEEP_AFTER: \"1h\"  # idle time\n" +
		"  DEBUG_ROUTES: \"true\"\n" +
		"access:\n" +
		"  allow: [you@example.com]\n"
	if b, _ := os.ReadFile(p); string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}

func TestSplitArgs(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		`op read op://vault/item/field`:            {"op", "read", "op://vault/item/field"},
		`sops -d --extract '["key"]' secrets.yaml`: {"sops", "-d", "--extract", `["key"]`, "secrets.yaml"},
		`printf "%s" "a b"`:                        {"printf", "%s", "a b"},
	}
	for in, want := range tests {
		got, err := splitArgs(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{`a | b`, `echo $HOME`, `a "b`, `a 'b`, ``, `a > b`} {
		if _, err := splitArgs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
