package account

import (
	"encoding/json"
	"testing"
)

func TestAccessEdgeRules(t *testing.T) {
	t.Parallel()
	st := newReady()
	a := &st.Access
	tok, secret, err := a.CreateServiceToken(t0, "ci", "")
	if err != nil || tok.ExpiresAt == nil || tok.ClientSecretSHA256 != FullHash(secret) {
		t.Fatalf("CreateServiceToken = %+v, %v", tok, err)
	}
	pol, _ := json.Marshal(map[string]any{"name": "svc", "decision": "non_identity",
		"include": []any{map[string]any{"service_token": map[string]any{"token_id": tok.ID}}}})
	app, err := a.CreateApp(t0, AppRequest{Name: "molt", Domain: "molt.emulated.workers.dev/api", Policies: []json.RawMessage{pol}})
	if err != nil {
		t.Fatal(err)
	}
	if a.CoveringApp("molt.emulated.workers.dev.localhost", "/api/status") != app || a.CoveringApp("molt.emulated.workers.dev", "/") != nil {
		t.Error("the app covers /api and below only")
	}
	if !a.ServiceTokenAdmitted(app, tok.ClientID, secret, t0) || a.ServiceTokenAdmitted(app, tok.ClientID, "wrong", t0) {
		t.Error("the token is admitted with its secret only")
	}
	if a.ServiceTokenAdmitted(app, tok.ClientID, secret, tok.ExpiresAt.Add(1)) {
		t.Error("an expired token is admitted")
	}
	if !a.OnlyServiceAuth(app) || a.EmailAdmitted(app, "me@example.com") {
		t.Error("a non_identity app admits no email")
	}
	if _, err := a.CreateAppPolicy(t0, app, PolicyRequest{Name: "me", Decision: "allow",
		Include: []map[string]any{{"email_domain": map[string]any{"domain": "Example.com"}}}}); err != nil {
		t.Fatal(err)
	}
	if !a.EmailAdmitted(app, "Me@example.com") || a.EmailAdmitted(app, "me@other.com") || a.OnlyServiceAuth(app) {
		t.Error("the allow policy admits its domain only")
	}
}

func TestAccessRefusals(t *testing.T) {
	t.Parallel()
	st := NewState("acct", "tok", ScenarioNewAccount, t0)
	a := &st.Access
	if _, err := a.CreateApp(t0, AppRequest{Name: "x", Domain: "x.example.com"}); code(err) != 11003 {
		t.Errorf("an app without an organization: %v", err)
	}
	name, team := "Team", "test.cloudflareaccess.com"
	if _, err := a.CreateOrg(t0, OrgRequest{Name: &name, AuthDomain: &team}); code(err) != 11003 {
		t.Errorf("a taken team name: %v", err)
	}
	team = "mine.cloudflareaccess.com"
	if _, err := a.CreateOrg(t0, OrgRequest{Name: &name, AuthDomain: &team}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateOrg(t0, OrgRequest{Name: &name, AuthDomain: &team}); code(err) != 11002 {
		t.Errorf("a second organization: %v", err)
	}
	if _, err := a.CreateReusablePolicy(t0, PolicyRequest{Name: "p", Decision: "allow", Include: []map[string]any{{"email": map[string]any{}}}}); code(err) != 12130 {
		t.Errorf("a rule without its field: %v", err)
	}
	p, err := a.CreateReusablePolicy(t0, PolicyRequest{Name: "p", Decision: "allow", Include: []map[string]any{{"everyone": map[string]any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	link, _ := json.Marshal(p.ID)
	app, err := a.CreateApp(t0, AppRequest{Name: "x", Domain: "x.example.com", Policies: []json.RawMessage{link}})
	if err != nil {
		t.Fatal(err)
	}
	if err := AppPolicyEditable(p); code(err) != 12130 {
		t.Errorf("a reusable policy edited through an app: %v", err)
	}
	if err := a.DeleteReusablePolicy(p); code(err) != 12130 || a.Policies[p.ID] == nil {
		t.Errorf("a policy in use deleted: %v", err)
	}
	a.DeleteApp(app)
	if err := a.DeleteReusablePolicy(p); err != nil {
		t.Errorf("DeleteReusablePolicy: %v", err)
	}
}
