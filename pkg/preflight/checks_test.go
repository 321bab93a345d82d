package preflight

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

func runCheck(t *testing.T, id string, env *Env) Outcome {
	t.Helper()
	rep := Run(context.Background(), Select(Standard(), id), env)
	if len(rep.Checks) != 1 {
		t.Fatalf("no check %s", id)
	}
	return rep.Checks[0]
}

func emulator(t *testing.T, o cfemu.Options) *cfemu.Server {
	t.Helper()
	srv := cfemu.New(o).Start()
	t.Cleanup(srv.Close)
	return srv
}

func apiFor(srv *cfemu.Server, token string) *cfapi.Client {
	return cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: token})
}

func TestTokenCheck(t *testing.T) {
	t.Parallel()
	srv := emulator(t, cfemu.Options{})
	tests := []struct {
		name, token string
		want        Status
		msg         string
	}{
		{"user token", srv.Token(), StatusOK, "user token"},
		{"account token", srv.AccountToken(), StatusOK, "account token"},
		{"expired", srv.ExpiredToken(), StatusFail, "expired"},
		{"unknown", "not-a-token", StatusFail, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCheck(t, IDToken, &Env{API: apiFor(srv, tt.token)})
			if got.Status != tt.want || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("got %s %q, want %s containing %q", got.Status, got.Message, tt.want, tt.msg)
			}
			if got.Status == StatusFail && !strings.Contains(got.Fix, "permissionGroupKeys") {
				t.Errorf("fix has no token template: %q", got.Fix)
			}
		})
	}
	// Checks that need the API skip, rather than fail, with a token that is not valid.
	got := runCheck(t, IDSubdomain, &Env{API: apiFor(srv, srv.ExpiredToken()), AccountID: srv.AccountID()})
	if got.Status != StatusSkipped || got.Message != "skipped: the API token is not valid" {
		t.Errorf("subdomain with an expired token: %s %q", got.Status, got.Message)
	}
}

func TestAccountCandidatesListed(t *testing.T) {
	t.Parallel()
	// A stub: the emulator has one account; this answers two and fails on anything else.
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/client/v4/accounts" {
			t.Errorf("unexpected request %s", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":[{"id":"aaa","name":"Home"},{"id":"bbb","name":"Work"}],"result_info":{"page":1,"per_page":50,"count":2,"total_count":2}}`))
	}))
	defer stub.Close()
	api := cfapi.New(cfapi.Options{BaseURL: stub.URL + "/client/v4", Token: "t"})
	got := runCheck(t, IDAccount, &Env{API: api})
	if got.Status != StatusFail || !strings.Contains(got.Fix, "--account") || !strings.Contains(got.Fix, "aaa (Home)") || !strings.Contains(got.Fix, "bbb (Work)") {
		t.Errorf("got %s %q fix %q", got.Status, got.Message, got.Fix)
	}
}

func TestCopiedSources(t *testing.T) {
	t.Parallel()
	df := "FROM x AS build\n# COPY ignored.sh /\nCOPY --chmod=755 start.sh /usr/local/bin/\nCOPY --from=build /out /out\n" +
		"ADD https://example.com/x.tgz /x\nCOPY a.sh \\\n  b.sh /dst/\nCOPY [\"c d.sh\", \"/e\"]\nRUN echo\n"
	got := copiedSources([]byte(df))
	want := []string{"start.sh", "a.sh", "b.sh", "c d.sh"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("copiedSources = %q, want %q", got, want)
	}
}

func writeProject(t *testing.T, files map[string]string) *wrangler.Config {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := wrangler.Load(filepath.Join(dir, "wrangler.jsonc"), "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLineEndings(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"wrangler.jsonc": `{"name": "w", "main": "i.js", "containers": [{"class_name": "S", "image": "./Dockerfile"}]}`,
		"Dockerfile":     "FROM scratch\nCOPY start.sh /\nCOPY skills/ /skills/\n",
		"start.sh":       "#!/bin/sh\necho hi\n",
		"skills/tool":    "#!/usr/bin/env bash\necho tool\n",
		"skills/doc.md":  "windows\r\nnotes\r\n",
	}
	got := runCheck(t, IDLineEndings, &Env{Config: writeProject(t, base)})
	if got.Status != StatusOK || !strings.Contains(got.Message, "2 shell script") {
		t.Errorf("LF project: %s %q", got.Status, got.Message)
	}
	base["skills/tool"] = "#!/usr/bin/env bash\r\necho tool\r\n"
	got = runCheck(t, IDLineEndings, &Env{Config: writeProject(t, base)})
	if got.Status != StatusFail || !strings.Contains(got.Message, "tool") || strings.Contains(got.Message, "doc.md") || !strings.Contains(got.Fix, "sed -i") {
		t.Errorf("CRLF script: %s %q fix %q", got.Status, got.Message, got.Fix)
	}
}

func TestConfigErrorPosition(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "wrangler.jsonc")
	_ = os.WriteFile(p, []byte("{\n  \"name\": 3\n}\n"), 0o644)
	_, err := wrangler.Load(p, "")
	if err == nil {
		t.Fatal("want a parse error")
	}
	got := runCheck(t, IDConfig, &Env{ConfigErr: err})
	if got.Status != StatusFail || !strings.Contains(got.Message, "wrangler.jsonc:2:") {
		t.Errorf("got %s %q", got.Status, got.Message)
	}
}

func TestSecretsManifestAndSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		m       *manifest.Manifest
		id      string
		want    Status
		contain string
	}{
		{"no manifest", nil, IDSecretsManifest, StatusFail, "no moltctl.yaml"},
		{"gateway token missing", &manifest.Manifest{Path: "moltctl.yaml", Secrets: []manifest.Secret{{Name: "ANTHROPIC_API_KEY", Source: manifest.Source{Kind: "env"}}}},
			IDSecretsManifest, StatusFail, "MOLTBOT_GATEWAY_TOKEN"},
		{"no provider", &manifest.Manifest{Path: "moltctl.yaml", Secrets: []manifest.Secret{{Name: "MOLTBOT_GATEWAY_TOKEN", Source: manifest.Source{Kind: "generate"}}}},
			IDSecretsManifest, StatusFail, "AI provider"},
		{"complete", &manifest.Manifest{Path: "moltctl.yaml", Secrets: []manifest.Secret{{Name: "MOLTBOT_GATEWAY_TOKEN", Source: manifest.Source{Kind: "generate"}}, {Name: "OPENAI_API_KEY", Source: manifest.Source{Kind: "env"}}}},
			IDSecretsManifest, StatusOK, "gives a value"},
		{"no-effect setting", &manifest.Manifest{Path: "moltctl.yaml", Vars: map[string]string{"TELEGRAM_DM_ALLOW_FROM": "123"}},
			IDSecretsSettings, StatusWarn, "TELEGRAM_DM_ALLOW_FROM"},
		{"dev mode", &manifest.Manifest{Path: "moltctl.yaml", Vars: map[string]string{"DEV_MODE": "true"}},
			IDSecretsSettings, StatusWarn, "DEV_MODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCheck(t, tt.id, &Env{Manifest: tt.m})
			if got.Status != tt.want || !strings.Contains(got.Message, tt.contain) {
				t.Errorf("got %s %q, want %s containing %q", got.Status, got.Message, tt.want, tt.contain)
			}
		})
	}
}

func TestAccessAppWiring(t *testing.T) {
	t.Parallel()
	const worker = "moltbot-sandbox"
	cfg := writeProject(t, map[string]string{"wrangler.jsonc": `{"name": "moltbot-sandbox", "main": "i.js"}`})
	srv := emulator(t, cfemu.Options{})
	var sub, team string
	srv.Update(func(s *cfemu.State) {
		sub, team = s.Account.Subdomain, s.Access.Organization.AuthDomain
		s.Scripts[worker] = &cfemu.Script{Name: worker, ID: "tag", Secrets: map[string]string{
			"CF_ACCESS_AUD": "aud-1", "CF_ACCESS_TEAM_DOMAIN": team, "MOLTBOT_GATEWAY_TOKEN": "x"}}
	})
	host := worker + "." + sub + ".workers.dev"
	key := []byte("0123456789abcdef0123456789abcdef")
	digests := &state.Deployment{Secrets: map[string]string{
		"CF_ACCESS_AUD": secrets.Digest(key, "aud-1"), "CF_ACCESS_TEAM_DOMAIN": secrets.Digest(key, team)}}
	env := func(matcher SecretMatcher, st *state.Deployment) *Env {
		return &Env{API: apiFor(srv, srv.Token()), AccountID: srv.AccountID(), Config: cfg, Secrets: matcher, State: st, StateKey: key}
	}

	got := runCheck(t, IDAccessApp, env(nil, nil))
	if got.Status != StatusFail || !strings.Contains(got.Message, "no Access application") {
		t.Fatalf("without an app: %s %q", got.Status, got.Message)
	}
	setApp := func(aud string) {
		srv.Update(func(s *cfemu.State) {
			if s.Access.Apps == nil {
				s.Access.Apps = map[string]*cfemu.AccessApp{}
			}
			s.Access.Apps["app1"] = &cfemu.AccessApp{ID: "app1", Name: "moltbot", Domain: host, Type: "self_hosted", AUD: aud}
		})
	}
	setApp("aud-1")
	for name, e := range map[string]*Env{"emulator values": env(srv, nil), "state digests": env(nil, digests)} {
		got = runCheck(t, IDAccessApp, e)
		if got.Status != StatusOK || !strings.Contains(got.Message, "match") {
			t.Errorf("%s, matching: %s %q", name, got.Status, got.Message)
		}
	}
	setApp("aud-2") // the application was recreated: the Worker's AUD is stale
	for name, e := range map[string]*Env{"emulator values": env(srv, nil), "state digests": env(nil, digests)} {
		got = runCheck(t, IDAccessApp, e)
		if got.Status != StatusFail || !strings.Contains(got.Message, "CF_ACCESS_AUD does not match") || !strings.Contains(got.Fix, "moltctl deploy") {
			t.Errorf("%s, stale AUD: %s %q", name, got.Status, got.Message)
		}
	}
	got = runCheck(t, IDAccessApp, env(nil, nil))
	if got.Status != StatusOK || !strings.Contains(got.Message, "no local record") {
		t.Errorf("nothing to compare with: %s %q", got.Status, got.Message)
	}
}

func TestWrongAccount(t *testing.T) {
	t.Parallel()
	srv := emulator(t, cfemu.Options{})
	env := &Env{API: apiFor(srv, srv.Token()), AccountID: "0123456789abcdef0123456789abcdef"}
	rep := Run(context.Background(), Select(Standard(), IDAccount, IDSubdomain), env)
	acct, _ := rep.Get(IDAccount)
	if acct.Status != StatusFail || !strings.Contains(acct.Message, "cannot act on account") || !strings.Contains(acct.Fix, "--account") {
		t.Errorf("account: %s %q fix %q", acct.Status, acct.Message, acct.Fix)
	}
	sub, _ := rep.Get(IDSubdomain)
	if sub.Status != StatusSkipped || !strings.Contains(sub.Message, "cannot act on account") {
		t.Errorf("subdomain: %s %q", sub.Status, sub.Message)
	}
}

func TestTokenThatCannotReadItselfWarns(t *testing.T) {
	t.Parallel()
	// Real Cloudflare refuses GET /user/tokens/{id} without "API Tokens Read"; the emulator allows self-reads, so a stub.
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/client/v4/user/tokens/verify":
			_, _ = w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"id":"tok1","status":"active"}}`))
		case "/client/v4/user/tokens/tok1":
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"success":false,"errors":[{"code":9109,"message":"Unauthorized to access requested resource"}],"messages":[],"result":null}`))
		default:
			t.Errorf("unexpected request %s", r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	defer stub.Close()
	api := cfapi.New(cfapi.Options{BaseURL: stub.URL + "/client/v4", Token: "t"})
	got := runCheck(t, IDPermissions, &Env{API: api})
	if got.Status != StatusWarn || !strings.Contains(got.Message, "cannot read its own permissions") || !strings.Contains(got.Fix, `"Cloudflare Containers Edit"`) {
		t.Errorf("got %s %q fix %q", got.Status, got.Message, got.Fix)
	}
}

// TestSecretsManifestSourcesGiveValues: a declared source that gives no
// value fails the check, naming the secret, before a deploy would.
func TestSecretsManifestSourcesGiveValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, ".env"), []byte("OTHER=x\n"), 0o600)
	src := `secrets:
  MOLTBOT_GATEWAY_TOKEN: {generate: hex32}
  ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY}
  TELEGRAM_BOT_TOKEN: {dotenv: .env}
  DISCORD_BOT_TOKEN: {command: [no-such-tool-moltctl, get]}
`
	m, err := manifest.Parse(filepath.Join(dir, "moltctl.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	got := runCheck(t, IDSecretsManifest, &Env{Manifest: m, Getenv: func(k string) string { return env[k] }})
	for _, w := range []string{"ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN"} {
		if got.Status != StatusFail || !strings.Contains(got.Message, w) {
			t.Errorf("got %s %q, want a failure naming %s", got.Status, got.Message, w)
		}
	}
	if !strings.Contains(got.Fix, "TELEGRAM_BOT_TOKEN") {
		t.Errorf("fix %q", got.Fix)
	}

	env["ANTHROPIC_API_KEY"] = "sk-ant-" + strings.Repeat("a", 40)
	_ = os.WriteFile(filepath.Join(dir, ".env"), []byte("TELEGRAM_BOT_TOKEN=123456:"+strings.Repeat("A", 35)+"\n"), 0o600)
	m.Secrets = m.Secrets[:3] // drop the command source
	got = runCheck(t, IDSecretsManifest, &Env{Manifest: m, Getenv: func(k string) string { return env[k] }})
	if got.Status == StatusFail {
		t.Errorf("every source gives a value, got %s %q", got.Status, got.Message)
	}
}

// The workers.dev name is picked when the check runs; if another account
// takes it before --fix applies it, the next free one is registered (never
// in place of a name asked for with --subdomain).
func TestSubdomainFixTakesTheNextNameWhenOneIsTakenMeanwhile(t *testing.T) {
	t.Parallel()
	for _, asked := range []string{"", "mine"} {
		srv := emulator(t, cfemu.Options{Scenario: cfemu.ScenarioNewAccount})
		env := &Env{API: apiFor(srv, srv.Token()), AccountID: srv.AccountID(), Subdomain: asked}
		got := runCheck(t, IDSubdomain, env)
		if got.Status != StatusFail || got.Action == nil {
			t.Fatalf("new account: %s %q, want a failure with a fix", got.Status, got.Message)
		}
		first := "emulated"
		if asked != "" {
			first = asked
		}
		if !strings.Contains(got.Action.Summary, " "+first+":") {
			t.Fatalf("fix %q, want it to name %s", got.Action.Summary, first)
		}
		srv.TakeSubdomain(first)
		err := got.Action.Apply(context.Background(), env)
		var sub string
		srv.Update(func(s *cfemu.State) { sub = s.Account.Subdomain })
		if asked != "" {
			if err == nil || sub != "" {
				t.Errorf("--subdomain %s taken meanwhile: err %v, registered %q; want an error and nothing registered", asked, err, sub)
			}
			continue
		}
		if err != nil || sub != "emulated-2" {
			t.Errorf("taken meanwhile: err %v, registered %q; want emulated-2", err, sub)
		}
		if !strings.Contains(got.Action.Summary, "emulated-2") || !strings.Contains(got.Action.Summary, "emulated was taken meanwhile") {
			t.Errorf("summary after apply %q, want it to name what was registered and why", got.Action.Summary)
		}
	}
}
