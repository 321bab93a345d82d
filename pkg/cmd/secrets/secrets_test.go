package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/state"
)

const worker = "moltbot-sandbox"

const wranglerJSONC = `{
  "name": "moltbot-sandbox",
  "main": "src/index.ts",
  "compatibility_date": "2025-05-06",
}
`

// Sentinels: valid for their kinds, unique, easy to search for.
const (
	sentAnthropic = "sk-ant-api03-SENTINELanthropicValue0123456789abcdefghij"
	sentAnthro2   = "sk-ant-api03-SENTINELanthropicRotated987654321zyxwvu"
	sentTelegram  = "987654321:SENTINELtelegram0123456789abcdefghi"
	sentSlackBot  = "xoxb-111111111111-2222222222222-SENTINELslackBot0123"
	sentSlackApp  = "xapp-1-A0123456789-3333333333333-SENTINELslackApp456789"
	sentDiscord   = "SENTINELdiscordTokenPart1AB.GaBcDe.SENTINELdiscordTokenPartThree0"
	sentOpenAI    = "sk-proj-SENTINELopenaiFromStdin0123456789abcdefghijkl"
)

const manifestYAML = `secrets:
  MOLTBOT_GATEWAY_TOKEN: {generate: hex32}
  ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}
  TELEGRAM_BOT_TOKEN: {file: tg.token}
  SLACK_BOT_TOKEN: {command: [cat, slack-bot.token]}
  SLACK_APP_TOKEN: {command: "cat slack-app.token", shell: true}
  CF_ACCESS_AUD: deploy
  CF_ACCESS_TEAM_DOMAIN: deploy
vars:
  SANDBOX_SLEEP_AFTER: 10m
`

type env struct {
	t      *testing.T
	dir    string
	srv    *cfemu.Server
	log    *bytes.Buffer
	vars   map[string]string
	mu     sync.Mutex
	output []string // every stdout and stderr
}

func newEnv(t *testing.T, withWorker bool) *env {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "wrangler.jsonc"), wranglerJSONC, 0o644)
	write(t, filepath.Join(dir, "moltctl.yaml"), manifestYAML, 0o644)
	write(t, filepath.Join(dir, "tg.token"), sentTelegram+"\n", 0o600)
	write(t, filepath.Join(dir, "slack-bot.token"), sentSlackBot, 0o600)
	write(t, filepath.Join(dir, "slack-app.token"), sentSlackApp, 0o600)
	log := &bytes.Buffer{}
	srv := cfemu.New(cfemu.Options{Log: log, ColdStart: 50 * time.Millisecond}).Start()
	t.Cleanup(srv.Close)
	if withWorker {
		srv.Update(func(st *cfemu.State) {
			st.Scripts[worker] = &cfemu.Script{Name: worker, ID: "tag", Secrets: map[string]string{"LEFTOVER": "x"}}
		})
	}
	return &env{t: t, dir: dir, srv: srv, log: log, vars: map[string]string{
		"CLOUDFLARE_API_TOKEN":    srv.Token(),
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(),
		"CLOUDFLARE_ACCOUNT_ID":   srv.AccountID(),
		"ANTHROPIC_API_KEY":       sentAnthropic,
		"HOME":                    dir,
	}}
}

func write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// run executes `moltctl secrets args...` and returns its exit code and
// output, printing errors as the root command does.
func (e *env) run(stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	io, in, out, errOut := iostreams.Test()
	in.WriteString(stdin)
	g := &cmdutil.GlobalOptions{Output: cmdutil.OutputText}
	var rest []string
	for _, a := range args {
		switch a {
		case "--json":
			g.Output = cmdutil.OutputJSON
		case "--verbose":
			g.Verbose = true
		case "--yes":
			g.Yes = true
		case "--tty":
			io.SetTTY(true)
		default:
			rest = append(rest, a)
		}
	}
	f := &cmdutil.Factory{IOStreams: io, Global: g, Getenv: func(k string) string { return e.vars[k] },
		WorkingDir: e.dir, Now: time.Now, HTTPClient: cmdutil.NewHTTPClient()}
	cmd := NewCmdSecrets(f, nil)
	cmd.SetArgs(rest)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		var silent *clierr.SilentError
		if !asSilent(err, &silent) {
			fmt.Fprintf(errOut, "Error: %s\n", err)
			if h := clierr.HintOf(err); h != "" {
				fmt.Fprintf(errOut, "Fix: %s\n", h)
			}
		}
	}
	e.mu.Lock()
	e.output = append(e.output, out.String(), errOut.String())
	e.mu.Unlock()
	return clierr.ExitCodeOf(err), out.String(), errOut.String()
}

func asSilent(err error, target **clierr.SilentError) bool {
	s, ok := err.(*clierr.SilentError)
	if ok {
		*target = s
	}
	return ok
}

func (e *env) remote() map[string]string {
	var out map[string]string
	e.srv.View(func(st *cfemu.State) {
		if sc := st.Scripts[worker]; sc != nil {
			out = map[string]string{}
			for k, v := range sc.Secrets {
				out[k] = v
			}
		}
	})
	return out
}

func (e *env) generatedToken() string {
	st, err := state.Open(e.dir, worker)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := st.LoadCredentials()
	if err != nil {
		e.t.Fatal(err)
	}
	return c.Generated["MOLTBOT_GATEWAY_TOKEN"]
}

func TestSetListUnsetFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)

	code, out, errOut := e.run("", "set")
	if code != 0 {
		t.Fatalf("set: %d\n%s%s", code, out, errOut)
	}
	r := e.remote()
	tok := e.generatedToken()
	if r["ANTHROPIC_API_KEY"] != sentAnthropic || r["TELEGRAM_BOT_TOKEN"] != sentTelegram || r["SLACK_BOT_TOKEN"] != sentSlackBot ||
		r["SLACK_APP_TOKEN"] != sentSlackApp || len(tok) != 64 || r["MOLTBOT_GATEWAY_TOKEN"] != tok {
		t.Fatalf("remote secrets not as resolved: %v", keys(r))
	}
	if strings.Count(e.log.String(), "secrets-bulk") != 1 {
		t.Fatalf("want exactly one bulk request:\n%s", e.log.String())
	}

	// Nothing changed: nothing sent.
	code, out, _ = e.run("", "set", "--json")
	var res struct{ Sent, Unchanged []string }
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Sent) != 0 || len(res.Unchanged) != 5 {
		t.Fatalf("second set: %d %s", code, out)
	}

	// A rotated key shows as changed, and only it is sent.
	e.vars["ANTHROPIC_API_KEY"] = sentAnthro2
	code, out, _ = e.run("", "list", "--json")
	var list struct {
		Secrets []struct {
			Name, Status string
			OnCloudflare bool `json:"on_cloudflare"`
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("list: %d %s", code, out)
	}
	status := map[string]string{}
	for _, s := range list.Secrets {
		status[s.Name] = s.Status
	}
	want := map[string]string{"ANTHROPIC_API_KEY": "changed", "TELEGRAM_BOT_TOKEN": "ok", "MOLTBOT_GATEWAY_TOKEN": "ok",
		"CF_ACCESS_AUD": "missing", "LEFTOVER": "extra", "SLACK_APP_TOKEN": "ok"}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("list status %s = %q, want %q (all: %v)", k, status[k], v, status)
		}
	}
	code, out, _ = e.run("", "list")
	if code != 0 || !strings.Contains(out, "changed locally since last set") || !strings.Contains(out, "LEFTOVER") || strings.Contains(out, "NAME") {
		t.Fatalf("list text: %s", out)
	}
	if code, out, _ = e.run("", "list", "--tty"); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Fatalf("list on a terminal has no header: %s", out)
	}
	code, out, _ = e.run("", "set", "--json", "--verbose")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || fmt.Sprint(res.Sent) != "[ANTHROPIC_API_KEY]" {
		t.Fatalf("set after rotation: %s", out)
	}
	if e.remote()["ANTHROPIC_API_KEY"] != sentAnthro2 {
		t.Fatal("rotated value not sent")
	}

	// unset needs --yes when not interactive.
	if code, _, errOut := e.run("", "unset", "LEFTOVER"); code != clierr.ExitUsage || !strings.Contains(errOut, "--yes") {
		t.Fatalf("unset without --yes: %d %s", code, errOut)
	}
	if code, _, errOut := e.run("", "unset", "LEFTOVER", "TELEGRAM_BOT_TOKEN", "--yes"); code != 0 || !strings.Contains(errOut, "still in moltctl.yaml") {
		t.Fatalf("unset: %d %s", code, errOut)
	}
	if r := e.remote(); r["LEFTOVER"] != "" || r["TELEGRAM_BOT_TOKEN"] != "" {
		t.Fatal("not deleted")
	}
	if code, _, _ := e.run("", "unset", "NOPE", "--yes"); code != 2 {
		t.Fatalf("unset of a missing secret: %d", code)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestWorkerNotDeployedYet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	for _, cmd := range []string{"set", "list"} {
		code, _, errOut := e.run("", cmd)
		if code != 1 || !strings.Contains(errOut, "does not exist yet") || !strings.Contains(errOut, "moltctl deploy") {
			t.Fatalf("%s: %d %s", cmd, code, errOut)
		}
	}
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		manifest string
		env      map[string]string
		code     int
		want     string
	}{
		{"valid", manifestYAML, nil, 0, "moltctl.yaml is valid"},
		{"looks like", manifestYAML, map[string]string{"ANTHROPIC_API_KEY": "0123456789abcdef0123456789abcdef"},
			2, "the value for ANTHROPIC_API_KEY looks like a Cloudflare account ID or an R2 access key ID"},
		{"named swap", strings.Replace(manifestYAML, "CF_ACCESS_AUD: deploy", "CF_ACCESS_AUD: {env: AUD}", 1),
			map[string]string{"AUD": sentAnthropic, "ANTHROPIC_API_KEY": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"},
			2, "did you swap ANTHROPIC_API_KEY and CF_ACCESS_AUD?"},
		{"missing env", manifestYAML, map[string]string{"ANTHROPIC_API_KEY": ""}, 2, "environment variable ANTHROPIC_API_KEY is not set"},
		{"syntax", "secrets:\n  A: {env: B\n", nil, 2, "moltctl.yaml:1:"},
		{"pasted value", "secrets:\n  ANTHROPIC_API_KEY: " + sentAnthropic + "\n", nil, 2, "moltctl.yaml:2:22"},
		{"no provider", "secrets:\n  MOLTBOT_GATEWAY_TOKEN: generate\nvars:\n  E2E_TEST_MODE: \"true\"\n", nil, 2, "no AI provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, true)
			write(t, filepath.Join(e.dir, "moltctl.yaml"), tt.manifest, 0o644)
			for k, v := range tt.env {
				e.vars[k] = v
			}
			code, out, errOut := e.run("", "check")
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d (want %d)\n%s%s\nwant %q", code, tt.code, out, errOut, tt.want)
			}
			jcode, jout, _ := e.run("", "check", "--json")
			if jcode != tt.code {
				t.Fatalf("json exit %d", jcode)
			}
			if tt.name != "syntax" && tt.name != "pasted value" {
				var res struct{ OK bool }
				if json.Unmarshal([]byte(jout), &res) != nil || res.OK != (tt.code == 0) {
					t.Fatalf("json: %s", jout)
				}
			}
			if strings.Contains(strings.Join(e.output, ""), "SENTINEL") {
				t.Fatalf("value in output: %s", e.output)
			}
			if len(e.log.String()) != 0 {
				t.Fatalf("check touched the network: %s", e.log.String())
			}
		})
	}
}

func TestImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	write(t, filepath.Join(e.dir, ".dev.vars"), "DISCORD_BOT_TOKEN="+sentDiscord+"\nDEV_MODE=true\nDEBUG_ROUTES=true\nSANDBOX_SLEEP_AFTER=1h\n", 0o600)
	code, out, errOut := e.run("", "import", ".dev.vars")
	if code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "skipped DEV_MODE") {
		t.Fatalf("DEV_MODE not skipped: %s", errOut)
	}
	vf := filepath.Join(e.dir, ".moltctl", "secrets.env")
	fi, err := os.Stat(vf)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("values file: %v %v", err, fi)
	}
	m, _ := os.ReadFile(filepath.Join(e.dir, "moltctl.yaml"))
	for _, want := range []string{"DISCORD_BOT_TOKEN: {dotenv: .moltctl/secrets.env}", "DEBUG_ROUTES: \"true\"", "SANDBOX_SLEEP_AFTER: \"1h\"", "ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("manifest lacks %q:\n%s", want, m)
		}
	}
	if code, _, errOut := e.run("", "set", "DISCORD_BOT_TOKEN"); code != 0 || e.remote()["DISCORD_BOT_TOKEN"] != sentDiscord {
		t.Fatalf("set imported: %d %s", code, errOut)
	}
	// An invalid value: nothing written.
	write(t, filepath.Join(e.dir, "bad.env"), "OPENAI_API_KEY="+sentAnthropic+"\n", 0o600)
	before, _ := os.ReadFile(filepath.Join(e.dir, "moltctl.yaml"))
	code, _, errOut = e.run("", "import", "bad.env")
	after, _ := os.ReadFile(filepath.Join(e.dir, "moltctl.yaml"))
	if code != 2 || !bytes.Equal(before, after) || !strings.Contains(errOut, "nothing imported") {
		t.Fatalf("bad import: %d %s", code, errOut)
	}
}

// TestNoLeaks runs every secrets command with unique sentinel values, in
// text and JSON, with --verbose, and searches all output, the emulator's
// request log and every file written for them.
func TestNoLeaks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	write(t, filepath.Join(e.dir, ".dev.vars"), "DISCORD_BOT_TOKEN="+sentDiscord+"\n", 0o600)
	write(t, filepath.Join(e.dir, "moltctl.yaml"), strings.Replace(manifestYAML, "vars:", "  OPENAI_API_KEY: stdin\nvars:", 1), 0o644)
	stdin := sentOpenAI + "\n"
	runs := [][]string{
		{"import", ".dev.vars"}, {"import", ".dev.vars", "--json"},
		{"check"}, {"check", "--json"}, {"check", "--verbose"},
		{"set", "--verbose"}, {"set", "--json", "--verbose", "--force"},
		{"list", "--verbose"}, {"list", "--json"},
		{"set", "ANTHROPIC_API_KEY", "--verbose"},
		{"unset", "DISCORD_BOT_TOKEN", "--yes", "--verbose"}, {"unset", "LEFTOVER", "--yes", "--json"},
	}
	for _, args := range runs {
		if code, out, errOut := e.run(stdin, args...); code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, code, out, errOut)
		}
	}
	// Failing runs print errors: they must not leak either.
	e.vars["ANTHROPIC_API_KEY"] = sentOpenAI
	if code, _, _ := e.run(stdin, "set", "--verbose"); code != 2 {
		t.Fatalf("a swapped value was not refused: %d", code)
	}
	if code, _, _ := e.run(stdin, "check", "--json"); code != 2 {
		t.Fatal("check accepted a swapped value")
	}

	if e.remote()["OPENAI_API_KEY"] != sentOpenAI {
		t.Fatal("stdin value not sent")
	}
	sentinels := []string{sentAnthropic, sentAnthro2, sentTelegram, sentSlackBot, sentSlackApp, sentDiscord, sentOpenAI, e.generatedToken(), "SENTINEL"}
	check := func(where, text string) {
		for _, s := range sentinels {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("%s contains a secret value (%.12s…)", where, s)
			}
		}
	}
	check("command output", strings.Join(e.output, "\n"))
	check("emulator request log", e.log.String())
	if !strings.Contains(strings.Join(e.output, ""), "secrets-bulk") {
		t.Fatal("--verbose traces missing: the leak search would be vacuous")
	}
	// Files: only the 0600 files meant for values may hold them.
	allowed := map[string]bool{
		filepath.Join(e.dir, ".dev.vars"): true, filepath.Join(e.dir, "tg.token"): true,
		filepath.Join(e.dir, "slack-bot.token"): true, filepath.Join(e.dir, "slack-app.token"): true,
		filepath.Join(e.dir, ".moltctl", "secrets.env"):              true,
		filepath.Join(e.dir, ".moltctl", worker, "credentials.json"): true,
	}
	var files int
	filepath.WalkDir(e.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, _ := os.ReadFile(p)
		if allowed[p] {
			if fi, _ := os.Stat(p); fi.Mode().Perm()&0o077 != 0 && !strings.HasSuffix(p, ".token") {
				t.Errorf("%s holds values but has mode %v", p, fi.Mode())
			}
			return nil
		}
		check(p, string(b))
		return nil
	})
	if files < 8 {
		t.Fatalf("only %d files found", files)
	}
}

// TestConcurrentSetOnFreshProject runs several secrets set at once on a
// fresh project, where the gateway token is generated on first use: every
// time, the token kept locally must be the one the Worker has.
func TestConcurrentSetOnFreshProject(t *testing.T) {
	t.Parallel()
	for round := 0; round < 6; round++ {
		e := newEnv(t, true)
		var wg sync.WaitGroup
		codes := make([]int, 4)
		errs := make([]string, 4)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _, errs[i] = e.run("", "set")
			}()
		}
		wg.Wait()
		ok := 0
		for i, c := range codes {
			switch {
			case c == 0:
				ok++
			case !strings.Contains(errs[i], "another moltctl"):
				t.Fatalf("round %d: exit %d: %s", round, c, errs[i])
			}
		}
		local, remote := e.generatedToken(), e.remote()["MOLTBOT_GATEWAY_TOKEN"]
		if ok == 0 || local == "" || local != remote {
			t.Fatalf("round %d: %d runs succeeded; local token %.8q…, Worker's %.8q…", round, ok, local, remote)
		}
	}
}

func TestSetAssignments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	code, out, errOut := e.run("", "set", "ANTHROPIC_API_KEY="+sentAnthro2, "TELEGRAM_BOT_TOKEN")
	if code != 0 || e.remote()["ANTHROPIC_API_KEY"] != sentAnthro2 || e.remote()["TELEGRAM_BOT_TOKEN"] != sentTelegram {
		t.Fatalf("NAME=VALUE: %d\n%s%s", code, out, errOut)
	}
	if strings.Count(errOut, "shell's history") != 1 || e.remote()["SLACK_BOT_TOKEN"] != "" {
		t.Fatalf("want one warning and only the named secrets sent:\n%s", errOut)
	}
	code, _, errOut = e.run(sentSlackBot+"\n", "set", "SLACK_BOT_TOKEN=-")
	if code != 0 || e.remote()["SLACK_BOT_TOKEN"] != sentSlackBot || strings.Contains(errOut, "history") {
		t.Fatalf("NAME=-: %d %s", code, errOut)
	}
	code, _, errOut = e.run("", "set", "DISCORD_BOT_TOKEN="+sentDiscord)
	if code != 0 || e.remote()["DISCORD_BOT_TOKEN"] != sentDiscord || !strings.Contains(errOut, "not in moltctl.yaml") {
		t.Fatalf("undeclared NAME=VALUE: %d %s", code, errOut)
	}
	for _, tt := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"A=-", "B=-"}, "only one value can come from standard input"},
		{"", []string{"ANTHROPIC_API_KEY=-"}, "nothing on standard input"},
		{"", []string{sentAnthropic}, "argument 1 is not NAME (not shown"},
		{"", []string{"ANTHROPIC_API_KEY", sentAnthropic + "=x"}, "argument 2 is not NAME=VALUE"},
		{"", []string{"ANTHROPIC_API_KEY=" + sentOpenAI}, "ANTHROPIC_API_KEY"}, // a swapped value: refused, not shown
		{"", []string{"CF_ACCESS_AUD=x"}, "comes from Cloudflare"},
		{"", []string{"ANTHROPIC_API_KEY="}, "the value is empty"},
	} {
		code, out, errOut := e.run(tt.stdin, append([]string{"set"}, tt.args...)...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d\n%s%s", tt.args, code, out, errOut)
		}
	}
	if s := strings.Join(e.output, ""); strings.Contains(s, "SENTINEL") {
		t.Fatalf("a value was printed:\n%s", s)
	}
}

// TestNoLeaksOnErrorPaths provokes every error about a value's source
// that the secrets commands can meet, with sentinel values where the
// mistake puts them, and searches all output.
func TestNoLeaksOnErrorPaths(t *testing.T) {
	t.Parallel()
	pem := "-----BEGIN PRIVATE KEY-----\nMIIEvSENTINELpemBody0123456789+/abcdefghij==\n-----END PRIVATE KEY-----\n"
	tests := []struct {
		name, manifest string
		files          map[string]string
		stdin          string
		args           []string
	}{
		{"pasted PEM in dotenv source", "secrets:\n  ANTHROPIC_API_KEY: {dotenv: .dev.vars}\n", map[string]string{".dev.vars": "ANTHROPIC_API_KEY=x\n" + pem}, "", []string{"check"}},
		{"pasted PEM in import", manifestYAML, map[string]string{"bad.env": "A=1\nSENTINELbase64tail+/0123456789abcdef==\n" + pem}, "", []string{"import", "bad.env"}},
		{"bad line on multi-secret stdin", "secrets:\n  ANTHROPIC_API_KEY: stdin\n  OPENAI_API_KEY: stdin\n", nil, "ANTHROPIC_API_KEY=" + sentAnthropic + "\n" + sentOpenAI + "\n", []string{"set", "--verbose"}},
		{"value as env name", "secrets:\n  ANTHROPIC_API_KEY: {env: " + sentAnthropic + "}\n", nil, "", []string{"check"}},
		{"value as generate format", "secrets:\n  MOLTBOT_GATEWAY_TOKEN: {generate: " + sentAnthro2 + "}\n", nil, "", []string{"set"}},
		{"value as source key", "secrets:\n  ANTHROPIC_API_KEY: {" + sentAnthropic + "}\n", nil, "", []string{"check", "--json"}},
		{"value as secret name", "secrets:\n  " + sentAnthropic + ": {env: A}\n", nil, "", []string{"list"}},
		{"failing command echoing the value", "secrets:\n  SLACK_BOT_TOKEN: {command: [sh, -c, \"cat slack-bot.token >&2; exit 1\"]}\n", nil, "", []string{"check"}},
		{"failing command after partial output", "secrets:\n  SLACK_BOT_TOKEN: {command: [sh, -c, \"cat slack-bot.token; echo oops >&2; exit 1\"]}\n", nil, "", []string{"set", "SLACK_BOT_TOKEN"}},
		{"value typed as a name", manifestYAML, nil, "", []string{"set", sentTelegram}},
		{"value typed as a name to unset", manifestYAML, nil, "", []string{"unset", sentTelegram, "--yes"}},
		{"swapped NAME=VALUE", manifestYAML, nil, "", []string{"set", "ANTHROPIC_API_KEY=" + sentOpenAI}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, true)
			write(t, filepath.Join(e.dir, "moltctl.yaml"), tt.manifest, 0o644)
			for p, c := range tt.files {
				write(t, filepath.Join(e.dir, p), c, 0o600)
			}
			code, out, errOut := e.run(tt.stdin, tt.args...)
			if code == 0 {
				t.Fatalf("succeeded:\n%s%s", out, errOut)
			}
			if strings.Contains(out+errOut, "SENTINEL") || strings.Contains(out+errOut, "MIIEv") {
				t.Fatalf("a value was printed:\n%s%s", out, errOut)
			}
		})
	}
}

// copyCheckout is a fresh checkout of e's project: everything but .moltctl/.
func (e *env) copyCheckout() *env {
	e.t.Helper()
	dir := e.t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(e.dir)); err != nil {
		e.t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, ".moltctl")); err != nil {
		e.t.Fatal(err)
	}
	vars := map[string]string{}
	for k, v := range e.vars {
		vars[k] = v
	}
	return &env{t: e.t, dir: dir, srv: e.srv, log: e.log, vars: vars}
}

// Another checkout of the same user finds the state, the generated token
// included, in the account: set sends nothing and makes no token; one
// without the key leaves the Worker's token alone.
func TestSetFromAnotherCheckout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	if code, _, errOut := e.run("", "set"); code != 0 {
		t.Fatalf("set: %d %s", code, errOut)
	}
	token := e.remote()["MOLTBOT_GATEWAY_TOKEN"]
	if token == "" || token != e.generatedToken() {
		t.Fatal("no gateway token was sent")
	}
	other := e.copyCheckout()
	mark := e.log.Len()
	code, out, errOut := other.run("", "set")
	if code != 0 || !strings.Contains(out, "unchanged") || strings.Contains(out, "Set ") {
		t.Fatalf("set from another checkout: %d\n%s%s", code, out, errOut)
	}
	if other.generatedToken() != token {
		t.Error("the other checkout does not hold the first one's token")
	}
	if strings.Contains(e.log.String()[mark:], "secrets-bulk") {
		t.Error("the other checkout sent secrets")
	}

	locked := e.copyCheckout()
	locked.vars["HOME"] = t.TempDir()
	code, _, errOut = locked.run("", "set")
	if code != 0 || !strings.Contains(errOut, "kept as the Worker has it") {
		t.Fatalf("set without the key: %d\n%s", code, errOut)
	}
	if e.remote()["MOLTBOT_GATEWAY_TOKEN"] != token {
		t.Error("a checkout without the key replaced the gateway token")
	}
}

func TestImportValuesFileInRepoIsIgnoredAndPrivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, true)
	write(t, filepath.Join(e.dir, ".dev.vars"), "DISCORD_BOT_TOKEN="+sentDiscord+"\n", 0o600)
	if err := os.MkdirAll(filepath.Join(e.dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(e.dir, "config", ".gitignore"), "node_modules", 0o644)
	// An existing values file readable by others is made private.
	write(t, filepath.Join(e.dir, "config", "prod.env"), "OTHER=1\n", 0o644)
	outside := filepath.Join(t.TempDir(), "prod.env")
	for i := 0; i < 2; i++ {
		for _, vf := range []string{"config/prod.env", outside} {
			if code, out, errOut := e.run("", "import", ".dev.vars", "--values-file", vf); code != 0 {
				t.Fatalf("%s: %d %s%s", vf, code, out, errOut)
			}
		}
	}
	ignore, _ := os.ReadFile(filepath.Join(e.dir, "config", ".gitignore"))
	if !strings.HasPrefix(string(ignore), "node_modules\n") || strings.Count(string(ignore), "/prod.env\n") != 1 {
		t.Fatalf(".gitignore:\n%s", ignore)
	}
	for _, p := range []string{filepath.Join(e.dir, "config", "prod.env"), outside} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, err, fi)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(outside), ".gitignore")); err == nil {
		t.Fatal("a .gitignore was written outside the project")
	}
	// The default (.moltctl/secrets.env) is ignored by .moltctl/.gitignore already.
	if code, _, _ := e.run("", "import", ".dev.vars"); code != 0 {
		t.Fatal("default import failed")
	}
	if _, err := os.Stat(filepath.Join(e.dir, ".moltctl", ".gitignore")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(e.dir, ".moltctl", ".gitignore")); strings.Contains(string(b), "secrets.env") {
		t.Fatalf(".moltctl/.gitignore was edited: %s", b)
	}
}
