package deploy

import (
	"net/http"
	"net/url"

	"context"
	"fmt"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// secretsStep sets the Worker's secrets: the manifest's values and what
// the deploy obtained from Cloudflare. Only secrets whose digest differs
// from the last deploy's (or that Cloudflare lacks) are sent.
type secretsStep struct{}

func (*secretsStep) Name() string   { return "secrets" }
func (*secretsStep) String() string { return "set the Worker's secrets (only changed ones)" }

func (*secretsStep) Skip(context.Context, *State) (bool, string) { return false, "" }

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

func (s *secretsStep) Run(ctx context.Context, st *State) error {
	if err := st.resolveValues(ctx); err != nil {
		return err
	}
	if st.Deps.Secrets == nil {
		return Skipped("no secrets API")
	}
	want := s.desiredSecrets(st)
	remote, err := st.Deps.Secrets.SecretNames(ctx, st.WorkerName())
	if err != nil {
		return fmt.Errorf("list secrets of %q: %w", st.WorkerName(), err)
	}
	has := map[string]bool{}
	for _, n := range remote {
		has[n] = true
	}
	checkErr := secrets.Check(secrets.NewValues(want))
	if st.Saved.locked() {
		// What the Worker holds and this machine cannot read stays there.
		var kept []string
		for _, n := range append(secrets.DeployNames(), remote...) {
			if _, ok := want[n]; !ok && has[n] {
				kept = append(kept, n)
			}
		}
		checkErr = secrets.Validate(secrets.Input{Secrets: secrets.NewValues(want), Pending: kept}).Err()
	}
	if checkErr != nil {
		return &clierr.UsageError{Err: fmt.Errorf("check secrets: %w", checkErr), Fix: clierr.HintOf(checkErr)}
	}
	set := map[string]string{}
	var unknown []string
	for k, v := range want {
		switch {
		case !has[k]:
			set[k] = v
		case st.Saved.locked():
			// Without the digest key nothing tells whether it changed.
			unknown = append(unknown, k)
		case st.Saved.Dep.Secrets[k] != secrets.Digest(st.Saved.HMACKey, v):
			set[k] = v
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		st.Deps.warn("%s: not sent, the Worker has a value and without the key moltctl cannot tell whether it changed (moltctl secrets set sends one)", strings.Join(unknown, ", "))
	}
	var unset []string
	for k := range st.Saved.Dep.Secrets {
		// Locked, the values of moltctl's own secrets are unknown here, not gone.
		if _, ok := want[k]; !ok && has[k] && !st.Saved.locked() {
			unset = append(unset, k)
		}
	}
	sort.Strings(unset)
	if len(set) == 0 && len(unset) == 0 {
		return Skipped("%d secret(s) unchanged", len(want))
	}
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
