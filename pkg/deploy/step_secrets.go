package deploy

import (
	"net/http"
	"net/url"

	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// secretsStep sets the Worker's secrets: the manifest's values and what
// the deploy obtained from Cloudflare. Only secrets whose digest differs
// from the last deploy's (or that Cloudflare lacks) are sent.
type secretsStep struct{}

func (*secretsStep) Name() string   { return "secrets" }
func (*secretsStep) String() string { return "set the Worker's secrets (only changed ones)" }

// desiredSecrets is every secret the Worker should hold.
func (*secretsStep) desiredSecrets(st *State) map[string]string {
	out := st.Learned.Values.Reveal()
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range st.Learned.DeployValues {
		if v != "" {
			out[k] = v
		}
	}
	// moltworker's browser skill reads WORKER_URL beside CDP_SECRET (or when
	// the manifest asks for it from deploy): moltctl knows the URL.
	declared, isVar := false, false
	if st.In.Manifest != nil {
		_, declared = st.In.Manifest.Secret("WORKER_URL")
		_, isVar = st.In.Manifest.Vars["WORKER_URL"]
	}
	if _, cdp := out["CDP_SECRET"]; (cdp || declared) && !isVar && st.Learned.URL != "" {
		if _, set := out["WORKER_URL"]; !set {
			out["WORKER_URL"] = st.Learned.URL
		}
	}
	return out
}

// secretsDiff is what the Worker's secrets lack: set are the values to
// send, unset the names to delete, unknown those the Worker holds that a
// locked machine cannot compare.
type secretsDiff struct {
	want         map[string]string
	set          map[string]string
	unset        []string
	unknown      []string
	checkErr     error
	remoteFailed error
}

func (s *secretsStep) diff(ctx context.Context, st *State) secretsDiff {
	d := secretsDiff{want: s.desiredSecrets(st), set: map[string]string{}}
	remote, err := st.secretNames(ctx)
	if err != nil {
		d.remoteFailed = fmt.Errorf("list secrets of %q: %w", st.WorkerName(), err)
		return d
	}
	has := map[string]bool{}
	for _, n := range remote {
		has[n] = true
	}
	locked := st.Saved.locked()
	d.checkErr = secrets.Check(secrets.NewValues(d.want))
	if locked {
		// What the Worker holds and this machine cannot read stays there.
		var kept []string
		for _, n := range append(secrets.DeployNames(), remote...) {
			if _, ok := d.want[n]; !ok && has[n] {
				kept = append(kept, n)
			}
		}
		d.checkErr = secrets.Validate(secrets.Input{Secrets: secrets.NewValues(d.want), Pending: kept}).Err()
	}
	for k, v := range d.want {
		switch {
		case !has[k]:
			d.set[k] = v
		case locked:
			// Without the digest key nothing tells whether it changed.
			d.unknown = append(d.unknown, k)
		case st.Saved.Dep.Secrets[k] != secrets.Digest(st.Saved.HMACKey, v):
			d.set[k] = v
		}
	}
	sort.Strings(d.unknown)
	for k := range st.Saved.Dep.Secrets {
		// Locked, the values of moltctl's own secrets are unknown here, not gone.
		if _, ok := d.want[k]; !ok && has[k] && !locked {
			d.unset = append(d.unset, k)
		}
	}
	sort.Strings(d.unset)
	return d
}

// notSent says which secrets a locked machine leaves as the Worker has them.
func (d secretsDiff) notSent() string {
	return strings.Join(d.unknown, ", ") + ": not sent, the Worker has a value and without the key moltctl cannot tell whether it changed (moltctl secrets set sends one)"
}

func (s *secretsStep) Skip(ctx context.Context, st *State) (bool, string) {
	if st.Deps.Secrets == nil {
		return true, "no secrets API"
	}
	if !st.Learned.resolved {
		// The values are read by the preflight step.
		return false, ""
	}
	d := s.diff(ctx, st)
	if d.remoteFailed != nil || d.checkErr != nil {
		return false, ""
	}
	if len(d.set) > 0 || len(d.unset) > 0 {
		return false, fmt.Sprintf("set or remove %d secret(s)", len(d.set)+len(d.unset))
	}
	reason := fmt.Sprintf("%d secret(s) unchanged", len(d.want))
	if len(d.unknown) > 0 {
		reason += "; " + d.notSent()
	}
	return true, reason
}

func (s *secretsStep) Run(ctx context.Context, st *State) error {
	if err := st.resolveValues(ctx); err != nil {
		return err
	}
	d := s.diff(ctx, st)
	if d.remoteFailed != nil {
		return d.remoteFailed
	}
	if d.checkErr != nil {
		return &clierr.UsageError{Err: fmt.Errorf("check secrets: %w", d.checkErr), Fix: clierr.HintOf(d.checkErr)}
	}
	if len(d.unknown) > 0 {
		st.Deps.warn("%s", d.notSent())
	}
	set, unset := d.set, d.unset
	if len(set) == 0 && len(unset) == 0 {
		st.Learned.Details["secrets"] = fmt.Sprintf("%d secret(s) unchanged", len(d.want))
		return nil
	}
	st.Deps.Reads.Forget(ReadSecretNames, readScriptSettings)
	if err := st.Deps.Secrets.BulkSecrets(ctx, st.WorkerName(), set, unset); err != nil {
		return fmt.Errorf("set secrets of %q: %w", st.WorkerName(), err)
	}
	// Changing secrets deploys a new version: remember it as the current one.
	if v := s.latestVersion(ctx, st); v != "" {
		st.Saved.Dep.Worker.VersionID, st.Learned.VersionID = v, v
	}
	// Locked, there is no digest key: a deploy with the key records them.
	if !st.Saved.locked() {
		for k, v := range set {
			st.Saved.Dep.Secrets[k] = secrets.Digest(st.Saved.HMACKey, v)
		}
	}
	for _, k := range unset {
		delete(st.Saved.Dep.Secrets, k)
	}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	st.Learned.SecretsChanged = append(names, unset...)
	detail := fmt.Sprintf("set %s", strings.Join(names, ", "))
	if len(unset) > 0 {
		detail += "; removed " + strings.Join(unset, ", ")
	}
	st.Learned.Details["secrets"] = detail
	return nil
}

// latestVersion is the version the Worker's latest deployment serves ("" if unknown).
func (*secretsStep) latestVersion(ctx context.Context, st *State) string {
	var out struct {
		Deployments []struct {
			Versions []struct {
				VersionID string `json:"version_id"`
			} `json:"versions"`
		} `json:"deployments"`
	}
	err := st.Deps.API.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: st.Deps.API.AccountPath("workers/scripts/%s/deployments", url.PathEscape(st.WorkerName()))}, &out)
	if err != nil || len(out.Deployments) == 0 || len(out.Deployments[0].Versions) == 0 {
		return ""
	}
	return out.Deployments[0].Versions[0].VersionID
}
