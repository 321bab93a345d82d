package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/remotestate"
)

// accessStep protects the Worker's whole host with Cloudflare Access: a
// self-hosted application, an allow policy for the manifest's people, a
// service token (with its non_identity policy) for moltctl's own admin
// calls; then it hands CF_ACCESS_AUD and CF_ACCESS_TEAM_DOMAIN, as
// Cloudflare returned them, to the secrets step.
type accessStep struct{}

func (*accessStep) Name() string { return "access" }
func (*accessStep) String() string {
	return "protect the Worker with Cloudflare Access (application, policies, service token)"
}

// Policy names moltctl gives what it creates.
const (
	allowPolicyName   = "moltctl allow"
	servicePolicyName = "moltctl service token"
)

func (a *accessStep) Skip(ctx context.Context, st *State) (bool, string) {
	if st.Learned.Subdomain == "" {
		return false, ""
	}
	host := st.WorkerHost()
	access := st.Saved.Dep.Access
	// The reads go out together: the policies read are those of the
	// application the state names, the only one Skip accepts.
	var (
		org      *cfapi.AccessOrganization
		apps     []cfapi.AccessApp
		toks     []cfapi.ServiceToken
		policies []cfapi.AccessPolicy
		errs     [4]error
	)
	together(
		func() { org, errs[0] = st.accessOrg(ctx) },
		func() { apps, errs[1] = st.accessApps(ctx) },
		func() { toks, errs[2] = st.serviceTokens(ctx) },
		func() {
			if access.AppID != "" {
				policies, errs[3] = st.appPolicies(ctx, access.AppID)
			}
		},
	)
	if errs[0] != nil || errs[1] != nil {
		return false, ""
	}
	want := a.wantApp(st)
	app := a.findApp(st, apps, want)
	switch {
	case app == nil:
		return false, "create the Access application for " + host
	case app.Domain != host || app.Type != "self_hosted":
		return false, "update the Access application to cover " + host
	case app.ID != access.AppID || app.AUD != access.AUD || org.AuthDomain != access.TeamDomain:
		return false, ""
	}
	if errs[2] != nil || errs[3] != nil {
		return false, ""
	}
	var tok *cfapi.ServiceToken
	for i := range toks {
		t := &toks[i]
		if t.Name != want.Name {
			continue
		}
		if tok != nil || t.ID != access.ServiceTokenID || t.ClientID != access.ServiceTokenClientID ||
			(!st.Saved.locked() && st.Saved.Creds.ServiceTokenClientSecret == "") {
			return false, "replace the service token " + want.Name
		}
		tok = t
	}
	if tok == nil {
		return false, "create the service token " + want.Name
	}
	var ids []string
	for _, w := range a.wantPolicies(st, tok.ID) {
		i := slices.IndexFunc(policies, func(p cfapi.AccessPolicy) bool { return p.Name == w.Name })
		if i < 0 || policies[i].Decision != w.Decision || !sameRules(policies[i].Include, w.Include) {
			return false, "set the policy " + w.Name
		}
		ids = append(ids, policies[i].ID)
	}
	if !slices.Equal(ids, access.PolicyIDs) {
		return false, ""
	}
	reason := want.Name + " already protects " + host
	if len(a.allowRules(st)) == 0 {
		reason += "; " + allowsNobody
	}
	return true, reason
}

// allowsNobody warns of an Access application only the service token passes.
const allowsNobody = "moltctl.yaml allows nobody through Access (access.allow); only moltctl's service token gets in"

func (*accessStep) wantApp(st *State) cfapi.AccessApp {
	host := st.WorkerHost()
	return cfapi.AccessApp{Name: st.In.ObjectName(""), Domain: host, Type: "self_hosted", SessionDuration: "24h",
		Destinations: []cfapi.AccessDestination{{Type: "public", URI: host}}}
}

// findApp finds the Worker's application by id, else by name, else by the
// host it covers.
func (*accessStep) findApp(st *State, apps []cfapi.AccessApp, want cfapi.AccessApp) *cfapi.AccessApp {
	for i := range apps {
		if a := &apps[i]; a.ID == st.Saved.Dep.Access.AppID || a.Name == want.Name {
			return a
		}
	}
	for i := range apps {
		if apps[i].Domain == want.Domain {
			return &apps[i]
		}
	}
	return nil
}

// wantPolicies are the application's policies: the service token's, then
// the manifest's people, if any.
func (a *accessStep) wantPolicies(st *State, tokenID string) []cfapi.AccessPolicy {
	ps := []cfapi.AccessPolicy{
		{Name: servicePolicyName, Decision: "non_identity", Precedence: 1, Include: []map[string]any{{"service_token": map[string]any{"token_id": tokenID}}}},
	}
	if rules := a.allowRules(st); len(rules) > 0 {
		ps = append(ps, cfapi.AccessPolicy{Name: allowPolicyName, Decision: "allow", Precedence: 2, Include: rules})
	}
	return ps
}

func (*accessStep) allowRules(st *State) []map[string]any {
	var out []map[string]any
	if st.In.Manifest == nil {
		return out
	}
	for _, e := range st.In.Manifest.Access.Allow {
		out = append(out, map[string]any{"email": map[string]any{"email": e}})
	}
	for _, d := range st.In.Manifest.Access.AllowDomains {
		out = append(out, map[string]any{"email_domain": map[string]any{"domain": strings.TrimPrefix(d, "@")}})
	}
	return out
}

func (a *accessStep) Run(ctx context.Context, st *State) error {
	if _, err := st.subdomain(ctx); err != nil {
		return err
	}
	org, err := st.accessOrg(ctx)
	if err != nil {
		if cfapi.NotFound(err) {
			return &clierr.HintError{Err: errors.New("the account has no Zero Trust organization (team domain)"),
				Fix: "open Zero Trust in the Cloudflare dashboard once and choose a team name, then run the same command again"}
		}
		return fmt.Errorf("read the Zero Trust organization: %w", err)
	}
	host := st.WorkerHost()
	var did []string

	apps, err := st.accessApps(ctx)
	if err != nil {
		return fmt.Errorf("list Access applications: %w", err)
	}
	want := a.wantApp(st)
	app := a.findApp(st, apps, want)
	switch {
	case app == nil:
		st.Deps.Reads.Forget(ReadAccessApps)
		app, err = st.Deps.API.CreateAccessApp(ctx, want)
		if err != nil {
			return fmt.Errorf("create Access application for %s: %w", host, err)
		}
		did = append(did, "created application "+want.Name)
	case app.Domain != host || app.Type != "self_hosted":
		st.Deps.Reads.Forget(ReadAccessApps)
		id := app.ID
		app, err = st.Deps.API.UpdateAccessApp(ctx, id, want)
		if err != nil {
			return fmt.Errorf("update Access application %s: %w", id, err)
		}
		did = append(did, "updated application "+want.Name)
	}
	st.Saved.Dep.Access.AppID, st.Saved.Dep.Access.AUD, st.Saved.Dep.Access.TeamDomain = app.ID, app.AUD, org.AuthDomain
	if err := st.Saved.save(ctx); err != nil {
		return err
	}

	// The service token: its secret exists only in the answer to creating
	// it, so a token whose secret moltctl does not hold is replaced.
	tok, created, err := a.ensureServiceToken(ctx, st)
	if err != nil {
		return err
	}
	if created {
		did = append(did, "created service token "+tok.Name)
	}

	policies, err := st.appPolicies(ctx, app.ID)
	if err != nil {
		return fmt.Errorf("list policies of Access application %s: %w", app.ID, err)
	}
	wantPolicies := a.wantPolicies(st, tok.ID)
	if len(wantPolicies) < 2 {
		st.Deps.warn("%s", allowsNobody)
	}
	var ids []string
	for _, p := range wantPolicies {
		id, changed, err := a.ensurePolicy(ctx, st, app.ID, policies, p)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		if changed != "" {
			st.Deps.Reads.Forget(readPoliciesPrefix + app.ID)
			did = append(did, changed)
		}
	}
	st.Saved.Dep.Access.PolicyIDs = ids

	st.Learned.DeployValues["CF_ACCESS_AUD"] = app.AUD
	st.Learned.DeployValues["CF_ACCESS_TEAM_DOMAIN"] = org.AuthDomain
	if len(did) == 0 {
		did = append(did, want.Name+" already protects "+host)
	}
	st.Learned.Details["access"] = strings.Join(did, "; ")
	return nil
}

func (*accessStep) ensureServiceToken(ctx context.Context, st *State) (*cfapi.ServiceToken, bool, error) {
	name := st.In.ObjectName("")
	toks, err := st.serviceTokens(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("list Access service tokens: %w", err)
	}
	for i := range toks {
		t := &toks[i]
		if t.Name != name {
			continue
		}
		if t.ClientID == st.Saved.Dep.Access.ServiceTokenClientID && st.Saved.Creds.ServiceTokenClientSecret != "" {
			st.Saved.Dep.Access.ServiceTokenID = t.ID
			return t, false, nil
		}
		if st.Saved.locked() {
			// Its secret is sealed in the account to a key this machine
			// lacks: the token stays, whoever holds the key uses it.
			st.Saved.Dep.Access.ServiceTokenID, st.Saved.Dep.Access.ServiceTokenClientID = t.ID, t.ClientID
			return t, false, nil
		}
		// Made by a run that stopped before it could keep the secret.
		st.Deps.Reads.Forget(readServiceTokens)
		if _, err := st.Deps.API.DeleteServiceToken(ctx, t.ID); err != nil {
			return nil, false, fmt.Errorf("replace Access service token %s: %w", t.ID, err)
		}
	}
	if st.Saved.locked() {
		return nil, false, errLocked("the Access service token " + name + " is missing")
	}
	st.Deps.Reads.Forget(readServiceTokens)
	t, err := st.Deps.API.CreateServiceToken(ctx, name, "8760h")
	if err != nil {
		return nil, false, fmt.Errorf("create Access service token %q: %w", name, err)
	}
	// Keep the secret before anything else can fail.
	st.Saved.Creds.ServiceTokenClientSecret = t.ClientSecret
	if err := st.Saved.save(ctx); err != nil {
		return nil, false, fmt.Errorf("save the service token: %w", err)
	}
	st.Saved.Dep.Access.ServiceTokenID, st.Saved.Dep.Access.ServiceTokenClientID = t.ID, t.ClientID
	if err := st.Saved.save(ctx); err != nil {
		return nil, false, err
	}
	t.ClientSecret = ""
	return t, true, nil
}

func (*accessStep) ensurePolicy(ctx context.Context, st *State, appID string, have []cfapi.AccessPolicy, want cfapi.AccessPolicy) (string, string, error) {
	for _, p := range have {
		if p.Name != want.Name {
			continue
		}
		if p.Decision == want.Decision && sameRules(p.Include, want.Include) {
			return p.ID, "", nil
		}
		var out cfapi.AccessPolicy
		err := st.Deps.API.Do(ctx, cfapi.Request{Method: http.MethodPut, Path: st.Deps.API.AccountPath("access/apps/%s/policies/%s", url.PathEscape(appID), url.PathEscape(p.ID)), JSON: want}, &out)
		if err != nil {
			return "", "", fmt.Errorf("update Access policy %q: %w", want.Name, err)
		}
		return p.ID, "updated policy " + want.Name, nil
	}
	p, err := st.Deps.API.CreateAppPolicy(ctx, appID, want)
	if err != nil {
		return "", "", fmt.Errorf("create Access policy %q: %w", want.Name, err)
	}
	return p.ID, "created policy " + want.Name, nil
}

// sameRules compares include rules as JSON values.
func sameRules(a, b []map[string]any) bool {
	return reflect.DeepEqual(normalise(a), normalise(b))
}

func normalise(rules []map[string]any) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = fmt.Sprint(r)
	}
	return out
}

// errLocked is the failure of a step that would have to make a credential
// it could not seal into the account without the key.
func errLocked(what string) error {
	return &clierr.HintError{Err: fmt.Errorf("%s, and this machine lacks the key that seals moltctl's credentials in the account", what),
		Fix: "deploy from a machine with the key, or set $" + remotestate.EnvKey + " (moltctl ci setup prints it there)"}
}
