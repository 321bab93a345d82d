package cfemu

import (
	"strings"
	"testing"
	"time"
)

func TestAccessOrganization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		scenario string
		body     map[string]any
		wantGet  int
		wantPost int
		code     float64
	}{
		{"new account has none", ScenarioNewAccount, map[string]any{"name": "Me", "auth_domain": "me-team.cloudflareaccess.com"}, 404, 201, 0},
		{"ready account has one", ScenarioReady, map[string]any{"name": "Me", "auth_domain": "me-team.cloudflareaccess.com"}, 200, 409, 11002},
		{"taken team name", ScenarioNewAccount, map[string]any{"name": "Me", "auth_domain": "example.cloudflareaccess.com"}, 404, 400, 11003},
		{"bad domain", ScenarioNewAccount, map[string]any{"name": "Me", "auth_domain": "me.example.com"}, 404, 400, 12130},
		{"missing name", ScenarioNewAccount, map[string]any{"auth_domain": "me-team.cloudflareaccess.com"}, 404, 400, 12130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := New(Options{Scenario: tt.scenario}).Start()
			defer srv.Close()
			p := "/accounts/" + srv.AccountID() + "/access/organizations"
			code, env := rtCall(t, srv, "GET", p, nil)
			if code != tt.wantGet {
				t.Fatalf("GET: %d %v", code, env)
			}
			if code == 404 && rtErrCode(env) != 12130 {
				t.Errorf("GET error: %v", env)
			}
			code, env = rtCall(t, srv, "POST", p, tt.body)
			if code != tt.wantPost || (tt.code != 0 && rtErrCode(env) != tt.code) {
				t.Fatalf("POST: %d %v", code, env)
			}
			if code == 201 {
				if _, env := rtCall(t, srv, "GET", p, nil); rtResult(env)["auth_domain"] != "me-team.cloudflareaccess.com" {
					t.Errorf("GET after create: %v", env)
				}
				code, env := rtCall(t, srv, "PUT", p, map[string]any{"name": "Renamed"})
				if code != 200 || rtResult(env)["name"] != "Renamed" {
					t.Errorf("PUT: %d %v", code, env)
				}
			}
		})
	}
}

func rtErrCode(env map[string]any) float64 {
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		return 0
	}
	c, _ := errs[0].(map[string]any)["code"].(float64)
	return c
}

func TestAccessAppWithoutOrganization(t *testing.T) {
	t.Parallel()
	srv := New(Options{Scenario: ScenarioNewAccount}).Start()
	defer srv.Close()
	code, env := rtCall(t, srv, "POST", "/accounts/"+srv.AccountID()+"/access/apps", map[string]any{"name": "a", "domain": "x.example.workers.dev", "type": "self_hosted"})
	if code != 400 || !strings.Contains(rtMessage(env), "auth_domain_not_available") {
		t.Errorf("%d %v", code, env)
	}
}

func rtMessage(env map[string]any) string {
	errs, _ := env["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	m, _ := errs[0].(map[string]any)["message"].(string)
	return m
}

func TestAccessPoliciesAndTokens(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	a := "/accounts/" + srv.AccountID() + "/access"
	code, env := rtCall(t, srv, "POST", a+"/service_tokens", map[string]any{"name": "molt"})
	tok := rtResult(env)
	if code != 201 || !strings.HasSuffix(tok["client_id"].(string), ".access") || len(tok["client_id"].(string)) != 32+7 || tok["client_secret"] == "" {
		t.Fatalf("service token: %d %v", code, env)
	}
	_, env = rtCall(t, srv, "GET", a+"/service_tokens", nil)
	list, _ := env["result"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["client_secret"] != nil || list[0].(map[string]any)["expires_at"] == nil {
		t.Fatalf("list shows the secret or lacks expiry: %v", env)
	}
	code, env = rtCall(t, srv, "POST", a+"/apps", map[string]any{"name": "molt", "domain": "molt.emulated.workers.dev", "type": "self_hosted", "session_duration": "24h"})
	app := rtResult(env)
	if code != 201 || len(app["aud"].(string)) != 64 {
		t.Fatalf("app: %d %v", code, env)
	}
	appPath := a + "/apps/" + app["id"].(string)
	policies := []struct {
		name string
		body map[string]any
		want int
	}{
		{"service token", map[string]any{"name": "svc", "decision": "non_identity", "precedence": 1, "include": []any{map[string]any{"service_token": map[string]any{"token_id": tok["id"]}}}}, 201},
		{"email domain", map[string]any{"name": "people", "decision": "allow", "precedence": 2, "include": []any{map[string]any{"email_domain": map[string]any{"domain": "example.com"}}}}, 201},
		{"bad decision", map[string]any{"name": "x", "decision": "maybe", "include": []any{map[string]any{"everyone": map[string]any{}}}}, 400},
		{"unknown rule", map[string]any{"name": "x", "decision": "allow", "include": []any{map[string]any{"telepathy": map[string]any{}}}}, 400},
		{"unknown token", map[string]any{"name": "x", "decision": "non_identity", "include": []any{map[string]any{"service_token": map[string]any{"token_id": "nope"}}}}, 400},
		{"no include", map[string]any{"name": "x", "decision": "allow"}, 400},
	}
	for _, p := range policies {
		if code, env := rtCall(t, srv, "POST", appPath+"/policies", p.body); code != p.want {
			t.Errorf("%s: %d %v", p.name, code, env)
		}
	}
	_, env = rtCall(t, srv, "GET", appPath, nil)
	if pols := rtResult(env)["policies"].([]any); len(pols) != 2 || pols[0].(map[string]any)["decision"] != "non_identity" {
		t.Errorf("app policies: %v", env)
	}
	// Reusable policy linked into the app.
	code, env = rtCall(t, srv, "POST", a+"/policies", map[string]any{"name": "me", "decision": "allow", "include": []any{map[string]any{"email": map[string]any{"email": "me@example.org"}}}})
	if code != 201 {
		t.Fatalf("reusable: %d %v", code, env)
	}
	rp := rtResult(env)["id"].(string)
	code, env = rtCall(t, srv, "PUT", appPath, map[string]any{"name": "molt", "domain": "molt.emulated.workers.dev", "type": "self_hosted", "policies": []any{map[string]any{"id": rp, "precedence": 1}}})
	if code != 200 || len(rtResult(env)["policies"].([]any)) != 1 {
		t.Fatalf("PUT app with reusable policy: %d %v", code, env)
	}
	if code, _ := rtCall(t, srv, "DELETE", a+"/policies/"+rp, nil); code != 400 {
		t.Errorf("delete policy in use: %d", code)
	}
	if code, _ := rtCall(t, srv, "DELETE", appPath, nil); code != 202 {
		t.Errorf("delete app: %d", code)
	}
	if code, _ := rtCall(t, srv, "GET", appPath, nil); code != 404 {
		t.Errorf("get deleted app: %d", code)
	}
	if code, _ := rtCall(t, srv, "DELETE", a+"/policies/"+rp, nil); code != 202 {
		t.Errorf("delete unused policy: %d", code)
	}
	if code, _ := rtCall(t, srv, "DELETE", a+"/service_tokens/"+tok["id"].(string), nil); code != 200 {
		t.Errorf("delete token: %d", code)
	}
}

// protect creates the Access app, a service token and its non_identity
// policy for the deployed Worker, and returns the app's aud and the token.
func protect(t *testing.T, srv *Server) (aud, clientID, secret string) {
	t.Helper()
	a := "/accounts/" + srv.AccountID() + "/access"
	_, env := rtCall(t, srv, "POST", a+"/service_tokens", map[string]any{"name": "molt"})
	tok := rtResult(env)
	_, env = rtCall(t, srv, "POST", a+"/apps", map[string]any{"name": "molt", "domain": "molt.emulated.workers.dev", "type": "self_hosted"})
	app := rtResult(env)
	rtCall(t, srv, "POST", a+"/apps/"+app["id"].(string)+"/policies", map[string]any{"name": "svc", "decision": "non_identity",
		"include": []any{map[string]any{"service_token": map[string]any{"token_id": tok["id"]}}}})
	rtCall(t, srv, "POST", a+"/apps/"+app["id"].(string)+"/policies", map[string]any{"name": "me", "decision": "allow",
		"include": []any{map[string]any{"email": map[string]any{"email": "me@example.com"}}}})
	return app["aud"].(string), tok["client_id"].(string), tok["client_secret"].(string)
}

func TestAccessEdge(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, map[string]string{"MOLTBOT_GATEWAY_TOKEN": "gw", "ANTHROPIC_API_KEY": "k"})
	if code, _, _ := rtGet(t, srv, "GET", "/sandbox-health", nil); code != 200 {
		t.Fatalf("before Access: %d", code)
	}
	aud, id, secret := protect(t, srv)
	setSecrets := func(team, a string) {
		srv.Update(func(st *State) {
			st.Scripts["molt"].Secrets["CF_ACCESS_TEAM_DOMAIN"] = team
			st.Scripts["molt"].Secrets["CF_ACCESS_AUD"] = a
		})
	}
	setSecrets("emulated.cloudflareaccess.com", aud)
	cookie, err := srv.AccessLogin("molt.emulated.workers.dev", "me@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AccessLogin("molt.emulated.workers.dev", "other@example.com"); err == nil {
		t.Error("login of an email no policy admits succeeded")
	}
	svc := map[string]string{"CF-Access-Client-Id": id, "CF-Access-Client-Secret": secret}
	tests := []struct {
		name     string
		path     string
		hdr      map[string]string
		want     int
		location string
		body     string
	}{
		{"no credentials, API", "/api/status", nil, 302, "https://emulated.cloudflareaccess.com/cdn-cgi/access/login/molt.emulated.workers.dev?kid=" + aud, ""},
		{"no credentials, browser", "/", map[string]string{"Accept": "text/html"}, 302, "https://emulated.cloudflareaccess.com/cdn-cgi/access/login/", ""},
		{"wrong secret", "/api/status", map[string]string{"CF-Access-Client-Id": id, "CF-Access-Client-Secret": "nope"}, 403, "", "Forbidden"},
		{"service token, public route", "/api/status", svc, 200, "", "not_running"},
		{"service token, admin", "/api/admin/storage", svc, 200, "", `"configured":false`},
		{"browser cookie", "/api/admin/storage", map[string]string{"Cookie": "CF_Authorization=" + cookie}, 200, "", `"configured":false`},
		{"forged cookie", "/api/admin/storage", map[string]string{"Cookie": "CF_Authorization=" + cookie + "x"}, 302, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := rtGet(t, srv, "GET", tt.path, tt.hdr)
			if code != tt.want || !strings.HasPrefix(h.Get("Location"), tt.location) || !strings.Contains(body, tt.body) {
				t.Errorf("%d %q %s", code, h.Get("Location"), body)
			}
		})
	}

	// The Worker checks its own secrets against the JWT the edge adds.
	mismatch := []struct {
		name, team, aud, details string
	}{
		{"wrong aud", "emulated.cloudflareaccess.com", strings.Repeat("0", 64), `unexpected \"aud\" claim value`},
		{"wrong team", "other.cloudflareaccess.com", aud, "no applicable key found"},
		{"https team prefix", "https://emulated.cloudflareaccess.com", aud, ""},
	}
	for _, tt := range mismatch {
		t.Run(tt.name, func(t *testing.T) {
			setSecrets(tt.team, tt.aud)
			code, _, body := rtGet(t, srv, "GET", "/api/admin/storage", svc)
			if tt.details == "" {
				if code != 200 {
					t.Errorf("%d %s", code, body)
				}
				return
			}
			if code != 401 || !strings.Contains(body, `"Unauthorized"`) || !strings.Contains(body, tt.details) {
				t.Errorf("%d %s", code, body)
			}
		})
	}
}
