package deploy

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// Reads is a run's memo of what Cloudflare answered: the steps' Skip
// (asked concurrently, and again after a step ran) and Run share one
// answer per read instead of asking again. A step that changes what a
// read describes forgets it. Only answers are kept, never errors, so a
// read that failed (or found nothing yet, before preflight repaired it)
// is asked again. A nil *Reads reads every time.
//
// It is the seam for answers read before the steps: whoever read one
// already (preflight, deploy.Prepare) hands it in with Remember under the
// key below, and no step asks for it again.
type Reads struct{ m sync.Map }

// Keys of the reads steps share; the value types are those Remember takes.
const (
	// ReadSubdomain is the account's workers.dev subdomain (string).
	ReadSubdomain = "subdomain"
	// ReadSecretNames are the names of the Worker's secrets ([]string).
	ReadSecretNames = "secret-names"
	// ReadAccessOrg is the Zero Trust organization (*cfapi.AccessOrganization).
	ReadAccessOrg = "access-org"
	// ReadAccessApps are the Access applications ([]cfapi.AccessApp).
	ReadAccessApps = "access-apps"
	// ReadBuckets are the account's R2 buckets ([]cfapi.Bucket).
	ReadBuckets = "buckets"

	readScriptSettings  = "script-settings"
	readScriptSubdomain = "script-subdomain"
	readContainerApp    = "container-app"
	readServiceTokens   = "service-tokens"
	readAccountTokens   = "account-tokens"
	readPoliciesPrefix  = "policies:"
)

type readCell struct {
	mu  sync.Mutex
	ok  bool
	val any
}

// Remember hands in an answer read elsewhere in this run.
func (r *Reads) Remember(key string, v any) {
	if r != nil {
		r.m.Store(key, &readCell{ok: true, val: v})
	}
}

// Forget drops answers a step has just changed.
func (r *Reads) Forget(keys ...string) {
	if r == nil {
		return
	}
	for _, k := range keys {
		r.m.Delete(k)
	}
}

// read returns the remembered answer for key or asks fn (once, however
// many callers ask at the same time) and remembers a success.
func read[T any](r *Reads, key string, fn func() (T, error)) (T, error) {
	if r == nil {
		return fn()
	}
	c, _ := r.m.LoadOrStore(key, &readCell{})
	cell := c.(*readCell)
	cell.mu.Lock()
	defer cell.mu.Unlock()
	if cell.ok {
		if v, ok := cell.val.(T); ok {
			return v, nil
		}
	}
	v, err := fn()
	if err == nil {
		cell.ok, cell.val = true, v
	}
	return v, err
}

// lookupSubdomain reads the account's workers.dev subdomain (it sets
// nothing: learn and the route step do).
func (st *State) lookupSubdomain(ctx context.Context) (string, error) {
	sub, err := read(st.Deps.Reads, ReadSubdomain, func() (string, error) { return st.Deps.API.GetSubdomain(ctx) })
	if err != nil {
		if cfapi.NotFound(err) || cfapi.HasCode(err, cfapi.CodeNotFound) {
			return "", &clierr.HintError{Err: errors.New("the account has no workers.dev subdomain"),
				Fix: "open Workers & Pages in the Cloudflare dashboard once (it registers one), or run moltctl doctor"}
		}
		return "", fmt.Errorf("read the workers.dev subdomain: %w", err)
	}
	return sub, nil
}

// deployedApp is the Worker's container application as Cloudflare has it
// (nil when there is none).
func (st *State) deployedApp(ctx context.Context, name string) (*cfapi.ContainerApp, error) {
	return read(st.Deps.Reads, readContainerApp, func() (*cfapi.ContainerApp, error) {
		apps, err := st.Deps.API.ListContainerApps(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("list container applications: %w", err)
		}
		if len(apps) == 0 {
			return nil, nil
		}
		return &apps[0], nil
	})
}

// bucketExists reads whether the R2 bucket name exists, from the list of
// the account's buckets: the list the preflight checks read too, so one
// request answers both. A list at its page size may lack it: then asked
// by name.
func (st *State) bucketExists(ctx context.Context, name string) (bool, error) {
	bs, err := read(st.Deps.Reads, ReadBuckets, func() ([]cfapi.Bucket, error) { return st.Deps.API.ListBuckets(ctx) })
	if err == nil {
		for _, b := range bs {
			if b.Name == name {
				return true, nil
			}
		}
		if len(bs) < cfapi.BucketsPerPage {
			return false, nil
		}
	}
	_, err = read(st.Deps.Reads, "bucket:"+name, func() (*cfapi.Bucket, error) { return st.Deps.API.GetBucket(ctx, name) })
	if err == nil {
		return true, nil
	}
	if cfapi.NotFound(err) || cfapi.HasCode(err, cfapi.CodeBucketNotFound) {
		return false, nil
	}
	return false, fmt.Errorf("look up R2 bucket %q: %w", name, err)
}

func (r *Reads) remembered(key string) (any, bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.m.Load(key)
	if !ok {
		return nil, false
	}
	cell := c.(*readCell)
	cell.mu.Lock()
	defer cell.mu.Unlock()
	return cell.val, cell.ok
}

func (st *State) secretNames(ctx context.Context) ([]string, error) {
	return read(st.Deps.Reads, ReadSecretNames, func() ([]string, error) {
		return st.Deps.Secrets.SecretNames(ctx, st.WorkerName())
	})
}

func (st *State) accessOrg(ctx context.Context) (*cfapi.AccessOrganization, error) {
	return read(st.Deps.Reads, ReadAccessOrg, func() (*cfapi.AccessOrganization, error) {
		return st.Deps.API.GetAccessOrganization(ctx)
	})
}

func (st *State) accessApps(ctx context.Context) ([]cfapi.AccessApp, error) {
	return read(st.Deps.Reads, ReadAccessApps, func() ([]cfapi.AccessApp, error) { return st.Deps.API.ListAccessApps(ctx) })
}

func (st *State) serviceTokens(ctx context.Context) ([]cfapi.ServiceToken, error) {
	return read(st.Deps.Reads, readServiceTokens, func() ([]cfapi.ServiceToken, error) { return st.Deps.API.ListServiceTokens(ctx) })
}

func (st *State) appPolicies(ctx context.Context, appID string) ([]cfapi.AccessPolicy, error) {
	return read(st.Deps.Reads, readPoliciesPrefix+appID, func() ([]cfapi.AccessPolicy, error) {
		return st.Deps.API.ListAppPolicies(ctx, appID)
	})
}

// together runs the reads fns at once and waits for all of them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	for _, f := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	wg.Wait()
}
