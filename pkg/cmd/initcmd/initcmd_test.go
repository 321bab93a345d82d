package initcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

const testWrangler = `{
  // a moltworker checkout
  "name": "moltbot-sandbox",
  "main": "src/index.ts",
  "compatibility_date": "2025-05-06",
  "containers": [{ "class_name": "Sandbox", "image": "./Dockerfile", "instance_type": "standard-1", "max_instances": 1 }],
  "durable_objects": { "bindings": [{ "class_name": "Sandbox", "name": "Sandbox" }] },
  "migrations": [{ "new_sqlite_classes": ["Sandbox"], "tag": "v1" }],
  "r2_buckets": [{ "binding": "MOLTBOT_BUCKET", "bucket_name": "moltbot-data" }],
  "build": { "command": "npm run build" },
}
`

const testDockerfile = "FROM scratch\nCOPY start-openclaw.sh /usr/local/bin/\n"

// project makes a moltworker checkout in a temporary directory.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"wrangler.jsonc":    testWrangler,
		"Dockerfile":        testDockerfile,
		"start-openclaw.sh": "#!/bin/sh\nexec openclaw gateway\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testFactory(dir string, env map[string]string, yes bool) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	io, _, out, errOut := iostreams.Test()
	return &cmdutil.Factory{
		IOStreams:  io,
		Global:     &cmdutil.GlobalOptions{Output: cmdutil.OutputText, Yes: yes},
		Getenv:     func(k string) string { return env[k] },
		WorkingDir: dir,
		Now:        time.Now,
		HTTPClient: cmdutil.NewHTTPClient(),
	}, out, errOut
}

func runInit(t *testing.T, f *cmdutil.Factory, args ...string) error {
	t.Helper()
	return runInitWith(t, f, nil, args...)
}

// runInitWith runs init after tweak has changed its options.
func runInitWith(t *testing.T, f *cmdutil.Factory, tweak func(*InitOptions), args ...string) error {
	t.Helper()
	var runF func(*InitOptions) error
	if tweak != nil {
		runF = func(o *InitOptions) error {
			tweak(o)
			return initRun(context.Background(), o)
		}
	}
	cmd := newCmdInit(f, runF)
	cmd.SetArgs(args)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	return cmd.ExecuteContext(context.Background())
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInitFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     []string
		notWant  []string
		wantCode int
	}{
		{
			name:    "anthropic, telegram, r2, domain",
			args:    []string{"--provider", "anthropic", "--channels", "telegram", "--allow", "example.com", "--sleep-after", "10m"},
			want:    []string{"ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}", "TELEGRAM_BOT_TOKEN", "R2_ACCESS_KEY_ID", `- "example.com"`, `SANDBOX_SLEEP_AFTER: "10m"`, "r2: true", "MOLTBOT_GATEWAY_TOKEN", "CF_ACCESS_AUD"},
			notWant: []string{"OPENAI_API_KEY", "DISCORD", "SLACK"},
		},
		{
			name:    "openai, slack, no r2",
			args:    []string{"--provider", "openai", "--channels", "slack", "--r2=false", "--allow", "me@example.com"},
			want:    []string{"OPENAI_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "r2: false", `- "me@example.com"`, `SANDBOX_SLEEP_AFTER: "10m"`},
			notWant: []string{"ANTHROPIC_API_KEY", "R2_ACCESS_KEY_ID"},
		},
		{
			name: "ai gateway",
			args: []string{"--provider", "ai-gateway", "--ai-gateway-account-id", strings.Repeat("ab", 16), "--ai-gateway-id", "gw", "--allow", "me@example.com"},
			want: []string{"CLOUDFLARE_AI_GATEWAY_API_KEY", `CF_AI_GATEWAY_ACCOUNT_ID: "` + strings.Repeat("ab", 16) + `"`, `CF_AI_GATEWAY_GATEWAY_ID: "gw"`},
		},
		{name: "ai gateway without its ids", args: []string{"--provider", "ai-gateway", "--allow", "me@example.com"}, wantCode: clierr.ExitUsage},
		{name: "nobody allowed", args: []string{"--provider", "openai"}, wantCode: clierr.ExitUsage},
		{name: "bad allow entry", args: []string{"--allow", "not an address!"}, wantCode: clierr.ExitUsage},
		{name: "bad provider", args: []string{"--provider", "gpt", "--allow", "a@b.co"}, wantCode: clierr.ExitUsage},
		{name: "bad sleep", args: []string{"--sleep-after", "soon", "--allow", "a@b.co"}, wantCode: clierr.ExitUsage},
		{name: "bad channel", args: []string{"--channels", "irc", "--allow", "a@b.co"}, wantCode: clierr.ExitUsage},
		{name: "bad ci", args: []string{"--ci", "jenkins", "--allow", "a@b.co"}, wantCode: clierr.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := project(t)
			f, out, _ := testFactory(dir, nil, true)
			err := runInit(t, f, tt.args...)
			if got := clierr.ExitCodeOf(err); got != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", got, err, tt.wantCode)
			}
			path := filepath.Join(dir, ManifestName)
			if tt.wantCode != 0 {
				if _, err := os.Stat(path); err == nil {
					t.Error("a failed init wrote the manifest")
				}
				return
			}
			got := readFile(t, path)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("manifest lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("manifest has %q:\n%s", w, got)
				}
			}
			if !strings.Contains(out.String(), "Created") {
				t.Errorf("output: %s", out)
			}
			checkManifest(t, path)
		})
	}
}

func TestInitNoProject(t *testing.T) {
	t.Parallel()
	f, _, _ := testFactory(t.TempDir(), nil, true)
	err := runInit(t, f, "--allow", "me@example.com")
	if clierr.ExitCodeOf(err) != clierr.ExitUsage || !strings.Contains(clierr.HintOf(err), "moltworker") {
		t.Fatalf("err = %v (hint %q)", err, clierr.HintOf(err))
	}
}

// TestInitRerunEdits runs init twice: the second run changes what its flags
// say and keeps the rest of the file, comments included.
func TestInitRerunEdits(t *testing.T) {
	t.Parallel()
	dir := project(t)
	f, _, _ := testFactory(dir, nil, true)
	if err := runInit(t, f, "--channels", "telegram,discord", "--allow", "me@example.com", "--sleep-after", "10m"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ManifestName)
	// The user edits the file: a comment, a secret of their own, a key init does not know.
	s := readFile(t, path)
	s = strings.Replace(s, "secrets:\n", "secrets:\n  # my own secret, keep it\n  MY_TOOL_KEY: {env: MY_TOOL_KEY}\n", 1)
	s = strings.Replace(s, "vars:\n", "vars:\n  # ask Sam before changing\n  TELEGRAM_DM_POLICY: pairing\n", 1)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}

	f2, out, _ := testFactory(dir, nil, true)
	if err := runInit(t, f2, "--provider", "openai", "--channels", "discord", "--r2=false"); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	for _, w := range []string{"# my own secret, keep it", "MY_TOOL_KEY: {env: MY_TOOL_KEY}", "# ask Sam before changing", "TELEGRAM_DM_POLICY: pairing",
		"OPENAI_API_KEY", "DISCORD_BOT_TOKEN", `SANDBOX_SLEEP_AFTER: "10m"`, `- "me@example.com"`, "r2: false"} {
		if !strings.Contains(got, w) {
			t.Errorf("after re-run, manifest lacks %q:\n%s", w, got)
		}
	}
	for _, w := range []string{"ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN", "R2_ACCESS_KEY_ID"} {
		if strings.Contains(got, w) {
			t.Errorf("after re-run, manifest still has %q:\n%s", w, got)
		}
	}
	if !strings.Contains(out.String(), "Updated") {
		t.Errorf("output: %s", out)
	}
	checkManifest(t, path)

	// A third run with the same answers changes nothing.
	f3, out3, _ := testFactory(dir, nil, true)
	f3.Global.Output = cmdutil.OutputJSON
	if err := runInit(t, f3); err != nil {
		t.Fatal(err)
	}
	var res Result
	if err := json.Unmarshal(out3.Bytes(), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out3)
	}
	if res.Action != "unchanged" || res.Provider != ProviderOpenAI || res.R2 || len(res.Channels) != 1 {
		t.Errorf("third run: %+v", res)
	}
	if readFile(t, path) != got {
		t.Error("third run changed the file")
	}
}

func TestInitCI(t *testing.T) {
	t.Parallel()
	dir := project(t)
	f, _, _ := testFactory(dir, nil, true)
	if err := runInit(t, f, "--allow", "me@example.com", "--channels", "telegram", "--ci", "github,gitlab"); err != nil {
		t.Fatal(err)
	}
	gh := readFile(t, filepath.Join(dir, ".github", "workflows", "moltctl-deploy.yml"))
	for _, w := range []string{"${{ secrets.ANTHROPIC_API_KEY }}", "${{ secrets.TELEGRAM_BOT_TOKEN }}", "branches: [main]", "moltctl deploy --yes --skip-build"} {
		if !strings.Contains(gh, w) {
			t.Errorf("workflow lacks %q", w)
		}
	}
	gl := readFile(t, filepath.Join(dir, ".gitlab-ci.yml"))
	if !strings.Contains(gl, "moltctl deploy --yes --skip-build") {
		t.Error("gitlab pipeline lacks the deploy")
	}

	// A pipeline the user changed is kept unless --force.
	custom := "# mine\n"
	if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	f2, out, _ := testFactory(dir, nil, true)
	if err := runInit(t, f2, "--ci", "gitlab"); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, ".gitlab-ci.yml")) != custom || !strings.Contains(out.String(), "--force") {
		t.Errorf("kept file overwritten, or no hint: %s", out)
	}
	f3, _, _ := testFactory(dir, nil, true)
	if err := runInit(t, f3, "--ci", "gitlab", "--force"); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, ".gitlab-ci.yml")) == custom {
		t.Error("--force did not overwrite")
	}
}

func TestSleepCosts(t *testing.T) {
	t.Parallel()
	// moltworker's README: ~$34.50/month 24/7, ~$5–6/month at 4 h/day.
	if got, _, _ := sleepCost("never"); got < 34.49 || got > 34.51 {
		t.Errorf("never = %.2f", got)
	}
	if got, _, _ := sleepCost("10m"); got < 5 || got > 6.5 {
		t.Errorf("10m = %.2f", got)
	}
	for _, c := range sleepChoices {
		if !strings.Contains(sleepLabel(c), "/month") {
			t.Errorf("label without cost: %q", sleepLabel(c))
		}
	}
}

// TestDocsUseTheOneCostModel: the cost table in docs/getting-started.md
// shows what init, the deploy confirmation and deploy --dry-run compute.
func TestDocsUseTheOneCostModel(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "getting-started.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, c := range sleepChoices {
		usd, _, _ := sleepCost(c.Value)
		row := fmt.Sprintf("| `%s` |", c.Value)
		i := strings.Index(doc, row)
		if i < 0 {
			t.Errorf("docs/getting-started.md has no cost row for %s", c.Value)
			continue
		}
		line := doc[i : i+strings.Index(doc[i:], "\n")]
		if want := fmt.Sprintf("$%.2f |", usd); !strings.HasSuffix(line, want) {
			t.Errorf("docs/getting-started.md: %q, want it to end %q", line, want)
		}
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in              string
		emails, domains string
		bad             bool
	}{
		{"me@example.com", "me@example.com", "", false},
		{"example.com, @corp.example", "", "example.com,corp.example", false},
		{"A@B.co me@x.org", "a@b.co,me@x.org", "", false},
		{"not valid!", "", "", true},
		{"localhost", "", "", true},
	}
	for _, tt := range tests {
		e, d, err := parseAllow([]string{tt.in})
		if (err != nil) != tt.bad {
			t.Errorf("%q: err %v", tt.in, err)
			continue
		}
		if strings.Join(e, ",") != tt.emails || strings.Join(d, ",") != tt.domains {
			t.Errorf("%q: emails %v domains %v", tt.in, e, d)
		}
	}
}

// A secret read from a git-ignored dotenv file is not on a CI runner: init
// says so, and the workflow names it instead of a CI secret.
func TestInitCIWarnsAboutSourcesARunnerLacks(t *testing.T) {
	t.Parallel()
	dir := project(t)
	f, _, _ := testFactory(dir, nil, true)
	if err := runInit(t, f, "--allow", "me@example.com"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ManifestName)
	m := strings.Replace(readFile(t, p), "ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}", "ANTHROPIC_API_KEY: {dotenv: .moltctl/secrets.env}", 1)
	if !strings.Contains(m, "dotenv") {
		t.Fatalf("the manifest has no env source to change:\n%s", m)
	}
	if err := os.WriteFile(p, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	f2, _, errOut := testFactory(dir, nil, true)
	if err := runInit(t, f2, "--ci", "github"); err != nil {
		t.Fatal(err)
	}
	gh := readFile(t, filepath.Join(dir, ".github", "workflows", "moltctl-deploy.yml"))
	if strings.Contains(gh, "${{ secrets.ANTHROPIC_API_KEY }}") || !strings.Contains(gh, "ANTHROPIC_API_KEY (dotenv source, moltctl.yaml:") {
		t.Errorf("workflow does not name the dotenv source:\n%s", gh)
	}
	if !strings.Contains(errOut.String(), "a CI runner will not have this source") {
		t.Errorf("no warning:\n%s", errOut)
	}
}

// On a terminal init offers an env source for each source a runner lacks;
// the answer is taken per secret.
func TestOfferEnvSources(t *testing.T) {
	t.Parallel()
	dir := project(t)
	p := filepath.Join(dir, ManifestName)
	m := "secrets:\n  ANTHROPIC_API_KEY: {dotenv: .moltctl/secrets.env}\n  TELEGRAM_BOT_TOKEN: {file: tg.token}\n"
	if err := os.WriteFile(p, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _, _ := testFactory(dir, nil, false)
	f.IOStreams.SetTTY(true)
	f.IOStreams.In = strings.NewReader("y\nn\n")
	doc, err := readManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	offerEnvSources(f, doc, p, true)
	b, err := encode(doc)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.Contains(got, "ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}") || !strings.Contains(got, "TELEGRAM_BOT_TOKEN: {file: tg.token}") {
		t.Errorf("manifest after the offer:\n%s", got)
	}
}
