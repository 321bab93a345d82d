package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// Keys of the values checks share through Shared.
const (
	keyVerify    = "verify"
	keyAccount   = "account"
	keyToken     = "token-policies"
	keySubdomain = "subdomain"
	keyBuckets   = "buckets"
	keyOrg       = "access-org"
	keyScript    = "script"
	keyApps      = "access-apps"
	keyDocker    = "docker"
)

// verify is the token's status, shared by every check that needs it.
func (e *Env) verify(ctx context.Context) (*cfapi.TokenStatus, error) {
	return Shared(e, keyVerify, func() (*cfapi.TokenStatus, error) {
		if e.API == nil {
			return nil, errNoToken
		}
		c := e.API
		if e.AccountID != "" {
			c = c.WithAccount(e.AccountID)
		}
		return c.VerifyToken(ctx)
	})
}

var errNoToken = errors.New("no API token")

// Account returns the account checks act on: AccountID when set (not
// waiting for any request), else the token's only account.
func (e *Env) Account(ctx context.Context) (string, error) {
	if e.AccountID != "" {
		return e.AccountID, nil
	}
	return Shared(e, keyAccount, func() (string, error) {
		if e.API == nil {
			return "", errNoToken
		}
		a, err := e.API.OnlyAccount(ctx)
		return a.ID, err
	})
}

// client returns the API client for the resolved account, or the Skip
// result explaining why there is none.
func (e *Env) client(ctx context.Context) (*cfapi.Client, *Result) {
	if e.API == nil {
		r := Skip("no API token")
		return nil, &r
	}
	id, err := e.Account(ctx)
	if err != nil {
		if e.authFailure(ctx, err) {
			r := Skip("the API token is not valid")
			return nil, &r
		}
		r := Skip("no account chosen (see check account)")
		return nil, &r
	}
	return e.API.WithAccount(id), nil
}

// isAuthError reports whether err is the API refusing the token or a permission.
func isAuthError(err error) bool {
	return cfapi.IsStatus(err, http.StatusUnauthorized) || cfapi.IsStatus(err, http.StatusForbidden) ||
		cfapi.HasCode(err, cfapi.CodeInvalidToken) || cfapi.HasCode(err, cfapi.CodeAuthError) ||
		cfapi.HasCode(err, cfapi.CodeUnauthorized) || cfapi.HasCode(err, cfapi.CodeAuthenticationFailed)
}

// authFailure reports whether err comes from a token that is not valid
// (rather than one missing a permission). It waits for the shared verify.
func (e *Env) authFailure(ctx context.Context, err error) bool {
	if !isAuthError(err) {
		return false
	}
	st, verr := e.verify(ctx)
	return verr != nil || !st.Active(e.now())
}

// apiProblem turns a failed call into a result: skipped when the token is
// not valid (check token says so), a fail naming the permission when the
// token lacks it, else a fail with the error.
func (e *Env) apiProblem(ctx context.Context, err error, doing string, perm string) Result {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Skip(err.Error())
	}
	if isAuthError(err) {
		if e.authFailure(ctx, err) {
			return Skip("the API token is not valid")
		}
		if cfapi.HasCode(err, cfapi.CodeUnauthorized) && e.AccountID != "" {
			return Skip("the token cannot act on account " + e.AccountID + " (see check account)")
		}
		if perm != "" {
			p := permissionByName(perm)
			return Fail(fmt.Sprintf("add %q to the token: %s", p.Dashboard(), TokenTemplateURL([]Permission{p}, e.AccountID)),
				"cannot %s: the token lacks %q (%v)", doing, p.Dashboard(), err)
		}
	}
	var te *cfapi.TransportError
	var to *cfapi.TimeoutError
	if errors.As(err, &te) || errors.As(err, &to) {
		return Fail("check your network connection and CLOUDFLARE_API_BASE_URL", "cannot %s: %v", doing, err)
	}
	return Fail("retry; if it persists, run with --verbose and report the error", "cannot %s: %v", doing, err)
}

func permissionByName(name string) Permission {
	for _, p := range append(append([]Permission{}, RequiredPermissions...), OptionalPermissions...) {
		if p.Name == name {
			return p
		}
	}
	return Permission{Name: name}
}

// subdomain is the account's workers.dev subdomain ("" when none).
func (e *Env) subdomain(ctx context.Context, c *cfapi.Client) (string, error) {
	return Shared(e, keySubdomain, func() (string, error) {
		var res struct {
			Subdomain string `json:"subdomain"`
		}
		err := c.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: c.AccountPath("workers/subdomain")}, &res)
		if cfapi.HasCode(err, cfapi.CodeNotFound) || cfapi.NotFound(err) {
			return "", nil
		}
		return res.Subdomain, err
	})
}

// buckets lists the account's R2 buckets.
func (e *Env) buckets(ctx context.Context, c *cfapi.Client) ([]cfapi.Bucket, error) {
	return Shared(e, keyBuckets, func() ([]cfapi.Bucket, error) { return c.ListBuckets(ctx) })
}

// org is the Zero Trust organization (nil when there is none).
func (e *Env) org(ctx context.Context, c *cfapi.Client) (*cfapi.AccessOrganization, error) {
	return Shared(e, keyOrg, func() (*cfapi.AccessOrganization, error) {
		o, err := c.GetAccessOrganization(ctx)
		if cfapi.NotFound(err) {
			return nil, nil
		}
		return o, err
	})
}

// remoteScript describes the deployed Worker: whether it exists and the
// names of its secrets.
type remoteScript struct {
	Exists  bool
	Secrets map[string]bool
}

// script reads the Worker's secret names, which also tells whether it exists.
func (e *Env) script(ctx context.Context, c *cfapi.Client, name string) (*remoteScript, error) {
	return Shared(e, keyScript, func() (*remoteScript, error) {
		var list []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		}
		err := c.Do(ctx, cfapi.Request{Method: http.MethodGet,
			Path: c.AccountPath("workers/scripts/%s/secrets", url.PathEscape(name))}, &list)
		if cfapi.NotFound(err) || cfapi.HasCode(err, cfapi.CodeNotFound) {
			return &remoteScript{}, nil
		}
		if err != nil {
			return nil, err
		}
		rs := &remoteScript{Exists: true, Secrets: map[string]bool{}}
		for _, s := range list {
			rs.Secrets[s.Name] = true
		}
		return rs, nil
	})
}

// accessApps lists the Access applications.
func (e *Env) accessApps(ctx context.Context, c *cfapi.Client) ([]cfapi.AccessApp, error) {
	return Shared(e, keyApps, func() ([]cfapi.AccessApp, error) { return c.ListAccessApps(ctx) })
}

// workerName is the Worker's name from the config.
func (e *Env) workerName() string {
	if e.Config == nil {
		return ""
	}
	return e.Config.Name
}

// hostOf returns the workers.dev host of worker name on subdomain.
func hostOf(name, sub string) string {
	return strings.ToLower(name + "." + sub + ".workers.dev")
}

// deployedWorker is the common start of the checks that look at the
// deployed Worker: it returns the Worker's name, the client and what
// Cloudflare holds, or the Result to report instead (no config, no token,
// an API problem while doing, or a Worker not deployed yet, which deploy
// handles as notYet says).
func (e *Env) deployedWorker(ctx context.Context, doing, notYet string) (string, *cfapi.Client, *remoteScript, *Result) {
	name := e.workerName()
	if name == "" {
		r := Skip("no valid wrangler.jsonc")
		return "", nil, nil, &r
	}
	c, skip := e.client(ctx)
	if skip != nil {
		return "", nil, nil, skip
	}
	rs, err := e.script(ctx, c, name)
	if err != nil {
		r := e.apiProblem(ctx, err, doing, "Workers Scripts Write")
		return "", nil, nil, &r
	}
	if !rs.Exists {
		r := OK("Worker %s is not deployed yet; %s", name, notYet)
		return "", nil, nil, &r
	}
	return name, c, rs, nil
}
