package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// Check IDs of the Cloudflare account checks.
const (
	IDToken       = "token"
	IDPermissions = "token.permissions"
	IDAccount     = "account"
	IDPlan        = "plan.containers"
	IDR2Enabled   = "r2.enabled"
	IDR2Bucket    = "r2.bucket"
	IDSubdomain   = "workers.subdomain"
	IDAccessOrg   = "access.organization"
)

func tokenFix(accountID string) string {
	return "create a token at " + TokenTemplateURL(RequiredPermissions, accountID) + " and export CLOUDFLARE_API_TOKEN"
}

func checkToken(ctx context.Context, e *Env) Result {
	if e.API == nil {
		return Fail(tokenFix(e.AccountID), "CLOUDFLARE_API_TOKEN is not set")
	}
	st, err := e.verify(ctx)
	if err != nil {
		if isAuthError(err) {
			return Fail(tokenFix(e.AccountID), "the API token is not valid (%v)", err)
		}
		return e.apiProblem(ctx, err, "verify the API token", "")
	}
	now := e.now()
	owner := st.Owner + " token"
	switch {
	case st.Status == "expired" || (st.ExpiresOn != nil && !now.Before(*st.ExpiresOn)):
		return Fail(tokenFix(e.AccountID), "the API token (%s %s) expired", owner, st.ID)
	case st.Status != "active":
		return Fail(tokenFix(e.AccountID), "the API token (%s %s) is %s", owner, st.ID, st.Status)
	case st.NotBefore != nil && now.Before(*st.NotBefore):
		return Fail("wait until "+st.NotBefore.Format(time.RFC3339)+" or create a new token", "the API token is not valid before %s", st.NotBefore.Format(time.RFC3339))
	case st.ExpiresOn != nil && st.ExpiresOn.Sub(now) < 7*24*time.Hour:
		return Warn("roll the token before it expires: "+e.DashLink("api-tokens"),
			"the API token (%s %s) expires %s", owner, st.ID, st.ExpiresOn.Format(time.RFC3339))
	}
	msg := fmt.Sprintf("valid and active (%s %s", owner, st.ID)
	if st.ExpiresOn != nil {
		msg += ", expires " + st.ExpiresOn.Format("2006-01-02")
	}
	return OK("%s)", msg)
}

func checkPermissions(ctx context.Context, e *Env) Result {
	if e.API == nil {
		return Skip("no API token")
	}
	st, err := e.verify(ctx)
	if err != nil && !isAuthError(err) {
		return Skip("the API token could not be verified (see check " + IDToken + ")")
	}
	if err != nil || !st.Active(e.now()) {
		return Skip("the API token is not valid")
	}
	tok, err := e.token(ctx, st)
	if err != nil {
		return Warn(unverifiedFix(st.Owner, e.AccountID),
			"%s: the token cannot read its own permissions (%v); deploy stops at the first one missing", PermissionsUnverified, shortErr(err))
	}
	have := tok.PermissionNames()
	var missing, unconfirmed, optional []Permission
	for _, p := range RequiredPermissions {
		switch {
		case Grants(have, p.Name):
		case p.Unconfirmed:
			unconfirmed = append(unconfirmed, p)
		default:
			missing = append(missing, p)
		}
	}
	for _, p := range OptionalPermissions {
		if !Grants(have, p.Name) {
			optional = append(optional, p)
		}
	}
	if len(missing) > 0 {
		return Fail("create a token with exactly what is missing added: "+TokenTemplateURL(RequiredPermissions, e.AccountID)+" (missing: "+dashNames(missing)+")",
			"the token lacks %s", dashNames(missing))
	}
	if len(unconfirmed) > 0 {
		return Warn("check at "+tokensPage(st.Owner, e.AccountID)+" that the token has "+dashNames(unconfirmed)+" (the plan.containers check shows whether Containers answer)",
			"%s: the token lists no permission named %s, a name no Cloudflare source confirms", PermissionsUnverified, quoted(unconfirmed))
	}
	if len(optional) > 0 {
		var why []string
		for _, p := range optional {
			why = append(why, fmt.Sprintf("%s to %s", p.Dashboard(), p.Why))
		}
		return Warn("optionally add "+dashNames(optional)+": "+TokenTemplateURL(append(append([]Permission{}, RequiredPermissions...), optional...), e.AccountID),
			"the token has every permission deploy needs; it lacks %s", strings.Join(why, "; "))
	}
	return OK("the token has every permission deploy needs (%d)", len(RequiredPermissions))
}

// PermissionsUnverified starts the message of a token.permissions warning
// that could not tell whether the token has what deploy needs.
const PermissionsUnverified = "permissions unverified"

// token reads the client's own token with its policies, once per run. On
// Cloudflare that needs "API Tokens Read" for a user token and "Account API
// Tokens Read" for an account token, even for the token itself.
func (e *Env) token(ctx context.Context, st *cfapi.TokenStatus) (*cfapi.Token, error) {
	c := e.API
	if st.AccountID != "" {
		c = c.WithAccount(st.AccountID)
	} else if e.AccountID != "" {
		c = c.WithAccount(e.AccountID)
	}
	return Shared(e, keyToken, func() (*cfapi.Token, error) { return c.GetToken(ctx, st.Owner, st.ID) })
}

// tokensPage is where the token's permissions can be read by hand.
func tokensPage(owner, accountID string) string {
	if owner == cfapi.OwnerAccount && accountID != "" {
		return "https://dash.cloudflare.com/" + accountID + "/api-tokens"
	}
	return "https://dash.cloudflare.com/profile/api-tokens"
}

// unverifiedFix names the check to run by hand, and the permission that
// lets doctor run it.
func unverifiedFix(owner, accountID string) string {
	read := "API Tokens Read"
	if owner == cfapi.OwnerAccount {
		read = "Account API Tokens Read"
	}
	return "check at " + tokensPage(owner, accountID) + " that the token has " + dashNames(RequiredPermissions) +
		"; or give it \"" + read + "\" so doctor can check: " + TokenTemplateURL(RequiredPermissions, accountID)
}

func quoted(ps []Permission) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = fmt.Sprintf("%q", p.Name)
	}
	return strings.Join(names, ", ")
}

func dashNames(ps []Permission) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = fmt.Sprintf("%q", p.Dashboard())
	}
	return strings.Join(names, ", ")
}

func shortErr(err error) string {
	var ae *cfapi.APIError
	if errors.As(err, &ae) {
		if len(ae.Errors) > 0 {
			return fmt.Sprintf("HTTP %d, %s", ae.StatusCode, ae.Errors[0].Message)
		}
		return fmt.Sprintf("HTTP %d", ae.StatusCode)
	}
	return err.Error()
}

func checkAccount(ctx context.Context, e *Env) Result {
	if e.API == nil {
		return Skip("no API token")
	}
	if e.AccountID != "" {
		var a cfapi.Account
		err := e.API.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: "accounts/" + url.PathEscape(e.AccountID)}, &a)
		if err != nil {
			if e.authFailure(ctx, err) {
				return Skip("the API token is not valid")
			}
			if isAuthError(err) || cfapi.NotFound(err) {
				return Fail("pass the id of an account the token can act on with --account (list them: unset CLOUDFLARE_ACCOUNT_ID and run moltctl doctor), or create a token for this account: "+TokenTemplateURL(RequiredPermissions, e.AccountID),
					"the token cannot act on account %s (%s)", e.AccountID, shortErr(err))
			}
			return e.apiProblem(ctx, err, "read account "+e.AccountID, "Account Settings Read")
		}
		return OK("account %s (%s)", a.ID, a.Name)
	}
	id, err := e.Account(ctx)
	if err == nil {
		return OK("account %s (the token's only account)", id)
	}
	var ae *cfapi.AccountChoiceError
	if errors.As(err, &ae) {
		if len(ae.Candidates) == 0 {
			return Fail("give the token access to your account: "+TokenTemplateURL(RequiredPermissions, ""), "the token cannot see any account")
		}
		var lines []string
		for _, a := range ae.Candidates {
			lines = append(lines, fmt.Sprintf("%s (%s)", a.ID, a.Name))
		}
		return Fail("pass --account <id> or export CLOUDFLARE_ACCOUNT_ID=<id>; the token's accounts: "+strings.Join(lines, ", "),
			"the token can act on %d accounts; choose one", len(ae.Candidates))
	}
	if e.authFailure(ctx, err) {
		return Skip("the API token is not valid")
	}
	return e.apiProblem(ctx, err, "list accounts", "Account Settings Read")
}

func subscribeLink(e *Env) string { return e.DashLink("workers/plans") }

func checkPlan(ctx context.Context, e *Env) Result {
	c, skip := e.client(ctx)
	if skip != nil {
		return *skip
	}
	// The subscription list (Billing Read) says why; containers/me says whether.
	type subsResult struct {
		paid, known bool
	}
	subsCh := make(chan subsResult, 1)
	go func() {
		subs, err := c.Subscriptions(ctx)
		if err != nil {
			subsCh <- subsResult{}
			return
		}
		for _, s := range subs {
			n := strings.ToLower(s.RatePlan.ID + " " + s.RatePlan.PublicName)
			if strings.Contains(n, "workers") && (strings.Contains(n, "paid") || strings.Contains(n, "standard") || strings.Contains(n, "bundled")) {
				subsCh <- subsResult{paid: true, known: true}
				return
			}
		}
		subsCh <- subsResult{known: true}
	}()
	var me map[string]any
	err := c.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: c.AccountPath("containers/me")}, &me)
	subs := <-subsCh
	if err == nil {
		return OK("Containers are enabled (Workers Paid)")
	}
	if cfapi.IsStatus(err, http.StatusUnauthorized) && !e.authFailure(ctx, err) {
		return e.containersRefused(ctx, subs.known, subs.paid)
	}
	return e.apiProblem(ctx, err, "read the Containers entitlement", "Cloudflare Containers Write")
}

// containersRefused explains a 401 from /containers/me. Cloudflare answers
// the same bare 401 for an account without Workers Paid, one where
// Containers are not enabled, and a token without the Containers
// permission (cloudflare/moltworker issues 66 and 111, workers-sdk issue
// 9898), so what else doctor can read decides which it names: the
// subscriptions (Billing Read) and the token's own permissions.
func (e *Env) containersRefused(ctx context.Context, subsKnown, paid bool) Result {
	const why = "Containers answer a bare 401 Unauthorized, which Cloudflare gives alike for a missing plan, Containers not enabled and a token without the Containers permission"
	if subsKnown && !paid {
		r := Fail("subscribe to Workers Paid ($5/month), which includes Containers: "+subscribeLink(e),
			"%s; the account is not on the Workers Paid plan, so that is the cause", why)
		r.Human = "subscribe to Workers Paid at " + subscribeLink(e)
		return r
	}
	containers := permissionByName("Cloudflare Containers Write")
	scopeFix := fmt.Sprintf("add %q to the token: %s", containers.Dashboard(), TokenTemplateURL(RequiredPermissions, e.AccountID))
	if st, err := e.verify(ctx); err == nil {
		if tok, err := e.token(ctx, st); err == nil && !grantsContainers(tok.PermissionNames()) {
			return Fail(scopeFix, "%s; the token has no Containers permission, so that is the cause", why)
		}
	}
	enable := "enable Containers at " + e.DashLink("workers/containers")
	if subsKnown {
		r := Fail(enable+"; if they are enabled, "+scopeFix,
			"%s; the account is on Workers Paid, so Containers are not enabled or the token lacks their permission", why)
		r.Human = enable
		return r
	}
	r := Fail("check, in this order: the plan is Workers Paid ("+subscribeLink(e)+"; give the token \"Billing Read\" and doctor checks it); "+
		enable+"; "+scopeFix, "%s; doctor cannot tell which", why)
	r.Human = "subscribe to Workers Paid at " + subscribeLink(e) + ", or " + enable
	return r
}

// grantsContainers reports whether any of the token's permissions is about
// Containers (their API name is unconfirmed, so not matched exactly).
func grantsContainers(names []string) bool {
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), "containers") {
			return true
		}
	}
	return false
}

func r2Link(e *Env) string { return e.DashLink("r2/overview") }

func checkR2Enabled(ctx context.Context, e *Env) Result {
	c, skip := e.client(ctx)
	if skip != nil {
		return *skip
	}
	bs, err := e.buckets(ctx, c)
	if err != nil {
		if cfapi.HasCode(err, cfapi.CodeR2NotEnabled) {
			r := Fail("enable R2 in the dashboard (free tier included; a payment method is required): "+r2Link(e),
				"R2 is not enabled on the account")
			r.Human = "enable R2 at " + r2Link(e)
			return r
		}
		return e.apiProblem(ctx, err, "list R2 buckets", "Workers R2 Storage Write")
	}
	return OK("R2 is enabled (%d bucket(s))", len(bs))
}

// bucketName is the R2 bucket the config binds (moltworker: MOLTBOT_BUCKET).
func (e *Env) bucketName() string {
	if e.Config == nil {
		return ""
	}
	if b, ok := e.Config.Bucket("MOLTBOT_BUCKET"); ok && b.BucketName != "" {
		return b.BucketName
	}
	for _, b := range e.Config.R2Buckets {
		if b.BucketName != "" {
			return b.BucketName
		}
	}
	return ""
}

func checkR2Bucket(ctx context.Context, e *Env) Result {
	if e.Config == nil {
		return Skip("no valid wrangler.jsonc")
	}
	name := e.bucketName()
	if name == "" {
		return OK("wrangler.jsonc binds no R2 bucket: the assistant keeps no data across restarts")
	}
	c, skip := e.client(ctx)
	if skip != nil {
		return *skip
	}
	bs, err := e.buckets(ctx, c)
	if err != nil {
		if cfapi.HasCode(err, cfapi.CodeR2NotEnabled) {
			return Skip("R2 is not enabled (see check r2.enabled)")
		}
		return e.apiProblem(ctx, err, "list R2 buckets", "Workers R2 Storage Write")
	}
	for _, b := range bs {
		if b.Name == name {
			return OK("bucket %s exists", name)
		}
	}
	r := Warn("moltctl deploy creates it; or now: moltctl doctor --fix", "bucket %s does not exist yet; deploy will create it", name)
	r.Action = &Action{Summary: "create the R2 bucket " + name, Apply: func(ctx context.Context, e *Env) error {
		c, skip := e.client(ctx)
		if skip != nil {
			return errors.New(skip.Message)
		}
		_, err := c.CreateBucket(ctx, name, "")
		if err != nil && !cfapi.IsStatus(err, http.StatusConflict) {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
		return nil
	}}
	return r
}

var subdomainRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`) })

func checkSubdomain(ctx context.Context, e *Env) Result {
	c, skip := e.client(ctx)
	if skip != nil {
		return *skip
	}
	sub, err := e.subdomain(ctx, c)
	if err != nil {
		return e.apiProblem(ctx, err, "read the workers.dev subdomain", "Workers Scripts Write")
	}
	if sub == "" {
		r := Fail("moltctl doctor --fix registers one (choose it with --subdomain NAME, or open "+e.DashLink("workers/onboarding")+")",
			"the account has no workers.dev subdomain; uploading the Worker would fail with code 10063")
		name, err := freeSubdomain(ctx, e)
		if err != nil {
			r.Fix = err.Error()
			return r
		}
		act := &Action{Permanent: true,
			Summary: fmt.Sprintf("register the workers.dev subdomain %s: the account's public name, permanent (--subdomain NAME picks another)", name)}
		act.Apply = func(ctx context.Context, e *Env) error {
			// The name was free when the check ran. If another account
			// has taken it since, the next free one is registered instead
			// and Summary says so; a name asked for (--subdomain) is never
			// swapped.
			for tries := 1; ; tries++ {
				err := c.Do(ctx, cfapi.Request{Method: http.MethodPut, Path: c.AccountPath("workers/subdomain"), JSON: map[string]string{"subdomain": name}}, nil)
				if err == nil {
					return nil
				}
				err = fmt.Errorf("register workers.dev subdomain %s: %w", name, err)
				if e.Subdomain != "" || tries == 3 {
					return err
				}
				// Asked again rather than read from the PUT's error code,
				// which is not documented for a taken name.
				if free, aerr := subdomainAvailable(ctx, c, name); aerr != nil || free {
					return err
				}
				next, ferr := freeSubdomain(ctx, e)
				if ferr != nil {
					return fmt.Errorf("register workers.dev subdomain %s: it was taken meanwhile, and %w", name, ferr)
				}
				act.Summary = fmt.Sprintf("register the workers.dev subdomain %s: %s was taken meanwhile; the account's public name, permanent", next, name)
				name = next
			}
		}
		r.Action = act
		return r
	}
	if e.Config != nil && e.Config.Name != "" {
		if e.Config.WorkersDev != nil && !*e.Config.WorkersDev {
			return Warn("set \"workers_dev\": true in "+e.Config.Path+" (moltctl serves the assistant on workers.dev)",
				"subdomain %s.workers.dev, but wrangler.jsonc disables workers_dev", sub)
		}
		return OK("%s.workers.dev; the Worker will be served at https://%s", sub, hostOf(e.Config.Name, sub))
	}
	return OK("%s.workers.dev", sub)
}

// freeSubdomain finds the name to register, with GET requests only: the
// one asked for (--subdomain), or the first free one based on the account's
// name (the availability endpoint answers 10032 for a free name).
func freeSubdomain(ctx context.Context, e *Env) (string, error) {
	c, skip := e.client(ctx)
	if skip != nil {
		return "", errors.New(skip.Message)
	}
	available := func(name string) (bool, error) { return subdomainAvailable(ctx, c, name) }
	if want := e.Subdomain; want != "" {
		if !subdomainRE().MatchString(want) {
			return "", fmt.Errorf("--subdomain %q is not a valid name: lower-case letters, digits and inner hyphens, at most 63", want)
		}
		ok, err := available(want)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("%s.workers.dev is taken: pass another --subdomain NAME", want)
		}
		return want, nil
	}
	base := "moltbot"
	var a cfapi.Account
	if err := c.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: "accounts/" + url.PathEscape(c.AccountID())}, &a); err == nil {
		if s := slug(a.Name); s != "" {
			base = s
		}
	}
	for i := 0; i < 20; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s-%d", base, i+1)
		}
		if !subdomainRE().MatchString(name) {
			continue
		}
		ok, err := available(name)
		if err != nil {
			return "", err
		}
		if ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free workers.dev subdomain found near %q: pass --subdomain NAME, or pick one at %s", base, e.DashLink("workers/onboarding"))
}

// subdomainAvailable asks whether the workers.dev name is free (the
// availability endpoint answers 10032 for a free name, 10031 for a taken one).
func subdomainAvailable(ctx context.Context, c *cfapi.Client, name string) (bool, error) {
	err := c.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: c.AccountPath("workers/subdomains/%s", name)}, nil)
	switch {
	case cfapi.HasCode(err, cfapi.CodeSubdomainAvailable):
		return true, nil
	case err == nil || cfapi.HasCode(err, cfapi.CodeSubdomainUnavailable):
		return false, nil
	}
	return false, fmt.Errorf("check workers.dev subdomain %s: %w", name, err)
}

// slug turns an account name ("Jane's Account") into a DNS label ("janes").
func slug(s string) string {
	s = strings.ToLower(s)
	s = strings.TrimSuffix(strings.TrimSpace(s), " account")
	s = strings.TrimSuffix(s, "'s")
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r == '\'':
		default:
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = strings.Trim(out[:40], "-")
	}
	return out
}

func zeroTrustLink() string { return "https://one.dash.cloudflare.com/" }

func checkAccessOrg(ctx context.Context, e *Env) Result {
	c, skip := e.client(ctx)
	if skip != nil {
		return *skip
	}
	o, err := e.org(ctx, c)
	if err != nil {
		return e.apiProblem(ctx, err, "read the Zero Trust organization", "Access: Organizations, Identity Providers, and Groups Read")
	}
	if o == nil {
		team := e.teamName(ctx, c)
		r := Fail(fmt.Sprintf("moltctl doctor --fix creates it with team domain %s.cloudflareaccess.com (or choose a team name at %s)", team, zeroTrustLink()),
			"the account has no Zero Trust organization: the Access application that protects the Worker needs its team domain")
		r.Action = &Action{Summary: fmt.Sprintf("create the Zero Trust organization %s.cloudflareaccess.com", team), Apply: func(ctx context.Context, e *Env) error {
			return fixAccessOrg(ctx, e, team)
		}}
		return r
	}
	return OK("team domain %s", o.AuthDomain)
}

// teamName proposes a Zero Trust team name: the workers.dev subdomain when
// known, else the account's name.
func (e *Env) teamName(ctx context.Context, c *cfapi.Client) string {
	if sub, err := e.subdomain(ctx, c); err == nil && sub != "" {
		return sub
	}
	var a cfapi.Account
	if err := c.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: "accounts/" + url.PathEscape(c.AccountID())}, &a); err == nil {
		if s := slug(a.Name); s != "" {
			return s
		}
	}
	return "moltbot"
}

func fixAccessOrg(ctx context.Context, e *Env, team string) error {
	c, skip := e.client(ctx)
	if skip != nil {
		return errors.New(skip.Message)
	}
	// Nobody outside Cloudflare documents the codes for "already exists"
	// and "team name taken", so the answer is read back, not parsed: an
	// organization that exists after a failed create is what was wanted
	// (made by a retry, or by a person meanwhile), and any other refusal of
	// the request itself may be a taken name, so the next one is tried.
	var first error
	for i := 0; i < 10; i++ {
		name := team
		if i > 0 {
			name = fmt.Sprintf("%s-%d", team, i+1)
		}
		_, err := c.CreateAccessOrganization(ctx, name, name+".cloudflareaccess.com")
		if err == nil {
			return nil
		}
		if o, gerr := c.GetAccessOrganization(ctx); gerr == nil && o.AuthDomain != "" {
			return nil
		}
		if first == nil {
			first = err
		}
		if !cfapi.IsStatus(err, http.StatusBadRequest) && !cfapi.IsStatus(err, http.StatusConflict) {
			return fmt.Errorf("create Zero Trust organization %s.cloudflareaccess.com: %w", name, err)
		}
	}
	return fmt.Errorf("create Zero Trust organization %s.cloudflareaccess.com (and 9 team names near it): %w; choose a team name at %s", team, first, zeroTrustLink())
}

// ExitCode is the exit code of a command the checks with IDs failed
// stop: 2 (usage) when the token check is among them, since a token
// Cloudflare refuses is bad input for every command (docs/exit-codes.md,
// as status exits), else 3 (preflight).
func ExitCode(failed []string) int {
	if slices.Contains(failed, IDToken) {
		return clierr.ExitUsage
	}
	return clierr.ExitPreflight
}
