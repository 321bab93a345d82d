package preflight

import (
	"context"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// IDAccessApp is the check that the deployed Worker is behind Access.
const IDAccessApp = "access.app"

// SecretMatcher can tell whether a deployed Worker's secret holds a value
// (the emulator keeps values; real Cloudflare never returns them, so there
// only the digests in local state are compared).
type SecretMatcher interface {
	// SecretMatches reports whether secret name of script equals value;
	// known is false when it cannot tell.
	SecretMatches(ctx context.Context, script, name, value string) (match, known bool, err error)
}

// covers reports whether app protects host (the whole host, not just some paths).
func covers(app cfapi.AccessApp, host string) (whole, any bool) {
	check := func(u string) {
		u = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"))
		h, path, _ := strings.Cut(u, "/")
		if h != host && !(strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return
		}
		any = true
		if path == "" || path == "*" {
			whole = true
		}
	}
	check(app.Domain)
	for _, d := range app.Destinations {
		if d.Type == "" || d.Type == "public" {
			check(d.URI)
		}
	}
	return whole, any
}

func checkAccessApp(ctx context.Context, e *Env) Result {
	name, c, rs, stop := e.deployedWorker(ctx, "read the Worker", "deploy creates its Access application")
	if stop != nil {
		return *stop
	}
	sub, err := e.subdomain(ctx, c)
	if err != nil || sub == "" {
		return Skip("no workers.dev subdomain (see check workers.dev)")
	}
	host := hostOf(name, sub)
	apps, err := e.accessApps(ctx, c)
	if err != nil {
		return e.apiProblem(ctx, err, "list Access applications", "Access: Apps and Policies Write")
	}
	var app *cfapi.AccessApp
	partial := false
	for i := range apps {
		whole, some := covers(apps[i], host)
		if whole {
			app = &apps[i]
			break
		}
		partial = partial || some
	}
	if app == nil {
		msg := "no Access application protects https://" + host + ": anyone who finds the URL reaches the Worker"
		if partial {
			msg = "Access applications cover only some paths of https://" + host
		}
		return Fail("moltctl deploy creates the Access application (or add one at "+e.DashLink("access/apps")+")", "%s", msg)
	}
	org, oerr := e.org(ctx, c)
	var problems []string
	for _, n := range []string{"CF_ACCESS_AUD", "CF_ACCESS_TEAM_DOMAIN"} {
		if !rs.Secrets[n] {
			problems = append(problems, n+" is not set on the Worker")
		}
	}
	want := map[string]string{"CF_ACCESS_AUD": app.AUD}
	if oerr == nil && org != nil {
		want["CF_ACCESS_TEAM_DOMAIN"] = org.AuthDomain
	}
	compared := 0
	for _, n := range []string{"CF_ACCESS_AUD", "CF_ACCESS_TEAM_DOMAIN"} {
		v, ok := want[n]
		if !ok || !rs.Secrets[n] {
			continue
		}
		match, known := e.secretMatches(ctx, name, n, v)
		if !known {
			continue
		}
		compared++
		if !match {
			problems = append(problems, n+" does not match the "+map[string]string{"CF_ACCESS_AUD": "application " + app.Name, "CF_ACCESS_TEAM_DOMAIN": "organization's team domain"}[n])
		}
	}
	if len(problems) > 0 {
		return Fail("moltctl deploy sets CF_ACCESS_AUD and CF_ACCESS_TEAM_DOMAIN from the Access application and organization",
			"Access application %s protects %s, but %s: the Worker would reject every request", app.Name, host, strings.Join(problems, "; "))
	}
	if compared == 0 {
		return OK("Access application %s protects %s (CF_ACCESS_AUD/CF_ACCESS_TEAM_DOMAIN are set; no local record to compare their values)", app.Name, host)
	}
	return OK("Access application %s protects %s; CF_ACCESS_AUD and CF_ACCESS_TEAM_DOMAIN match it", app.Name, host)
}

// secretMatches compares a deployed secret with value: through the
// matcher when there is one, else through the digest in local state.
func (e *Env) secretMatches(ctx context.Context, script, name, value string) (match, known bool) {
	if e.Secrets != nil {
		if m, k, err := e.Secrets.SecretMatches(ctx, script, name, value); err == nil && k {
			return m, true
		}
	}
	if e.State == nil || len(e.StateKey) == 0 || e.State.Secrets[name] == "" {
		return false, false
	}
	d := e.State.Secrets[name]
	if d == secrets.Digest(e.StateKey, value) {
		return true, true
	}
	if name == "CF_ACCESS_TEAM_DOMAIN" && d == secrets.Digest(e.StateKey, "https://"+value) {
		return true, true
	}
	return false, true
}
