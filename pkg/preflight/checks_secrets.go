package preflight

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// Check IDs of the secrets checks.
const (
	IDSecretsManifest = "secrets.manifest"
	IDSecretsRemote   = "secrets.remote"
	IDSecretsSettings = "secrets.settings"
)

// testMode reports whether the manifest turns Access off (DEV_MODE or E2E_TEST_MODE).
func testMode(m *manifest.Manifest) bool {
	return strings.EqualFold(m.Vars["DEV_MODE"], "true") || strings.EqualFold(m.Vars["E2E_TEST_MODE"], "true")
}

// sources maps each declared name to its source kind ("" = none); vars count as set.
func sources(m *manifest.Manifest) map[string]string {
	out := map[string]string{}
	for _, s := range m.Secrets {
		out[s.Name] = string(s.Source.Kind)
	}
	for k := range m.Vars {
		if _, ok := out[k]; !ok {
			out[k] = "var"
		}
	}
	return out
}

// requiredNames are the names moltworker needs under m.
func requiredNames(m *manifest.Manifest) []string {
	var out []string
	for _, s := range secrets.Catalogue() {
		switch s.Required {
		case secrets.Required:
			out = append(out, s.Name)
		case secrets.RequiredUnlessTestMode:
			if m == nil || !testMode(m) {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

func checkSecretsManifest(ctx context.Context, e *Env) Result {
	if e.ManifestErr != nil {
		return Fail("fix moltctl.yaml at the position shown (moltctl secrets check explains each entry)", "%v", e.ManifestErr)
	}
	m := e.Manifest
	if m == nil {
		return Fail("moltctl init writes moltctl.yaml: it declares where each secret comes from", "no moltctl.yaml: deploy would not know where the secrets come from")
	}
	src := sources(m)
	var missing []string
	for _, n := range requiredNames(m) {
		if src[n] == "" {
			if spec, ok := secrets.Lookup(n); ok && spec.FromDeploy {
				continue // deploy sets it from Cloudflare when not declared
			}
			missing = append(missing, n)
		}
	}
	providerOK := false
	for _, choice := range secrets.ProviderChoices() {
		all := true
		for _, n := range choice {
			if src[n] == "" {
				all = false
			}
		}
		if all {
			providerOK = true
		}
	}
	var partial []string
	for _, g := range secrets.Groups() {
		var have, lack []string
		for _, n := range g.Names {
			if src[n] != "" {
				have = append(have, n)
			} else if spec, ok := secrets.Lookup(n); !(ok && spec.FromDeploy) {
				lack = append(lack, n)
			}
		}
		if len(have) > 0 && len(lack) > 0 {
			partial = append(partial, fmt.Sprintf("%s needs %s", g.Purpose, strings.Join(lack, ", ")))
		}
	}
	rel := relPath(m.Path)
	switch {
	case len(missing) > 0:
		return Fail(fmt.Sprintf("declare a source for each in %s, e.g. moltctl secrets set %s", rel, missing[0]),
			"required secret(s) without a source: %s", strings.Join(missing, ", "))
	case !providerOK:
		return Fail(fmt.Sprintf("declare one AI provider in %s: ANTHROPIC_API_KEY, OPENAI_API_KEY, or the AI Gateway trio (moltctl secrets set ANTHROPIC_API_KEY)", rel),
			"no AI provider is configured: the assistant could not answer")
	}
	// A source that is declared but gives nothing (an unset variable, a
	// missing file or key, a command not installed) fails the deploy as
	// surely as no source at all.
	if e.Getenv != nil {
		values, errs := m.Probe(ctx, e.Getenv)
		if len(errs) > 0 {
			var what []string
			for _, err := range errs {
				what = append(what, fmt.Sprintf("%s (%v)", err.Name, err.Err))
			}
			return Fail(errs.Hint(), "no value for %s", strings.Join(what, "; "))
		}
		// A value moltworker would reject fails the deploy's secrets step,
		// after the resources before it were made: the same checks (formats,
		// swapped values) stop it here, before any change. Problems name
		// the secret, never its value.
		if probs := secrets.Validate(secrets.Input{Secrets: values, Partial: true}).Errors(); len(probs) > 0 {
			var what []string
			for _, p := range probs {
				what = append(what, p.Message)
			}
			fix := probs[0].Fix
			if src, ok := m.Secret(probs[0].Name); ok && probs[0].Code == secrets.CodeFormat {
				fix = fmt.Sprintf("correct the value of %s where its source reads it (%s, %s:%d)", src.Name, src.Source, rel, src.Line)
			}
			return Fail(fix, "%s", strings.Join(what, "; "))
		}
	}
	switch {
	case len(partial) > 0:
		return Warn(fmt.Sprintf("declare the rest of each group in %s, or remove the group", rel), "incomplete: %s", strings.Join(partial, "; "))
	}
	return OK("%s: %d secret(s), every one has a source that gives a value", rel, len(m.Secrets))
}

func checkSecretsRemote(ctx context.Context, e *Env) Result {
	name, _, rs, stop := e.deployedWorker(ctx, "list the Worker's secrets", "deploy sets its secrets")
	if stop != nil {
		return *stop
	}
	vars := map[string]bool{}
	if e.Config != nil {
		for k := range e.Config.Vars {
			vars[k] = true
		}
	}
	var missing []string
	for _, n := range requiredNames(e.Manifest) {
		if !rs.Secrets[n] && !vars[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return Warn("moltctl deploy sets them (or moltctl secrets set "+missing[0]+")",
			"the deployed Worker %s lacks required secret(s) %s: its gateway answers 503 until they are set", name, strings.Join(missing, ", "))
	}
	return OK("the deployed Worker %s has every required secret (%d secrets)", name, len(rs.Secrets))
}

func checkSecretsSettings(_ context.Context, e *Env) Result {
	names := map[string]string{} // name → where
	if e.Manifest != nil {
		for _, s := range e.Manifest.Secrets {
			names[s.Name] = relPath(e.Manifest.Path)
		}
		for k := range e.Manifest.Vars {
			names[k] = relPath(e.Manifest.Path)
		}
	}
	if e.Config != nil {
		for k := range e.Config.Vars {
			names[k] = relPath(e.Config.Path) + " vars"
		}
	}
	if e.Manifest == nil && e.Config == nil {
		return Skip("no moltctl.yaml or wrangler.jsonc")
	}
	var notes []string
	var first string
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, n := range keys {
		spec, ok := secrets.Lookup(n)
		if ok && spec.Ineffective != "" {
			notes = append(notes, fmt.Sprintf("%s (%s): %s", n, names[n], spec.Ineffective))
			if first == "" {
				first = n
			}
		}
	}
	for _, n := range []string{"DEV_MODE", "E2E_TEST_MODE"} {
		if e.Manifest != nil && strings.EqualFold(e.Manifest.Vars[n], "true") {
			notes = append(notes, n+"=true turns off Cloudflare Access checks: anyone who finds the URL can use the assistant")
			if first == "" {
				first = n
			}
		}
	}
	if len(notes) > 0 {
		return Warn("remove "+first+" from its file (moltctl secrets unset "+first+")", "%s", strings.Join(notes, "; "))
	}
	return OK("every setting has an effect")
}
