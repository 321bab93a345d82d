package account

import (
	"net/http"
	"slices"
	"sort"
	"time"
)

// Secret is one secret as the secrets endpoints take it.
type Secret struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Type string `json:"type"`
}

// msgLatestNotDeployed is 10215's text.
const msgLatestNotDeployed = "Secret edit failed. You attempted to modify a secret, but the latest version of your Worker isn't currently deployed. Please ensure that the latest version of your Worker is fully deployed (wrangler versions deploy) before modifying secrets. Alternatively, you can use the Cloudflare dashboard to modify secrets on a non-deployed version."

// checkSecretName refuses an empty name and, with 10053, a name that is
// already a non-secret binding.
func checkSecretName(sc *Script, name string) error {
	if name == "" {
		return invalid("secret name is required")
	}
	if slices.ContainsFunc(sc.Bindings, func(b Binding) bool { return b.Name == name }) {
		return errorf(http.StatusBadRequest, CodeBindingInUse, "Binding name '%s' already in use. Please use a different name and try again.", name)
	}
	return nil
}

func checkSecretType(typ string) error {
	if typ != "secret_text" && typ != "secret_key" {
		return invalid("Unsupported secret type %q", typ)
	}
	return nil
}

// latestDeployed answers 10215 when the script's latest version is not the
// deployed one (after `versions upload` without `versions deploy`).
func latestDeployed(sc *Script) error {
	if len(sc.Versions) == 0 {
		return nil
	}
	last := sc.Versions[len(sc.Versions)-1].ID
	if n := len(sc.Deployments); n > 0 {
		for _, v := range sc.Deployments[n-1].Versions {
			if v.VersionID == last && v.Percentage == 100 {
				return nil
			}
		}
	}
	return errorf(http.StatusBadRequest, 10215, msgLatestNotDeployed)
}

// secretChanged deploys sc's secrets as a new version: like every secret
// change on Cloudflare.
func (st *State) secretChanged(now time.Time, sc *Script) {
	sc.ModifiedOn = now.UTC()
	st.newVersion(now, sc, "api", map[string]string{"workers/triggered_by": "secret"}, true)
}

// SetSecret is PUT .../secrets: it sets one secret (type secret_text when
// empty) in a new deployed version, and returns the type.
func (st *State) SetSecret(now time.Time, sc *Script, s Secret) (string, error) {
	if s.Type == "" {
		s.Type = "secret_text"
	}
	if err := checkSecretType(s.Type); err != nil {
		return "", err
	}
	if err := checkSecretName(sc, s.Name); err != nil {
		return "", err
	}
	if err := latestDeployed(sc); err != nil {
		return "", err
	}
	sc.Secrets[s.Name] = s.Text
	st.secretChanged(now, sc)
	return s.Type, nil
}

// HasSecret answers 404 10056 when sc has no secret name.
func HasSecret(sc *Script, name string) error {
	if _, found := sc.Secrets[name]; !found {
		return errorf(http.StatusNotFound, CodeBindingNotFound, "Binding '%s' not found.", name)
	}
	return nil
}

// DeleteSecret is DELETE .../secrets/{name}, in a new deployed version.
func (st *State) DeleteSecret(now time.Time, sc *Script, name string) error {
	if err := HasSecret(sc, name); err != nil {
		return err
	}
	if err := latestDeployed(sc); err != nil {
		return err
	}
	delete(sc.Secrets, name)
	st.secretChanged(now, sc)
	return nil
}

// maxBulkSecrets is how many secrets one bulk update may change.
const maxBulkSecrets = 100

// PatchSecrets applies an RFC 7396 merge patch of secrets as wrangler's
// `secret bulk` sends it: {"K": {name,text,type}, "OLD": null} (present =
// set, null = delete, absent = unchanged), in one new deployed version.
// A refused patch changes nothing.
func (st *State) PatchSecrets(now time.Time, sc *Script, patch map[string]*Secret) error {
	if len(patch) > maxBulkSecrets {
		return invalid("A bulk update may change at most 100 secrets")
	}
	for k, v := range patch {
		if v == nil {
			continue
		}
		if err := checkSecretName(sc, k); err != nil {
			return err
		}
		if v.Type != "" {
			if err := checkSecretType(v.Type); err != nil {
				return err
			}
		}
	}
	if err := latestDeployed(sc); err != nil {
		return err
	}
	for k, v := range patch {
		if v == nil {
			delete(sc.Secrets, k)
			continue
		}
		sc.Secrets[k] = v.Text
	}
	st.secretChanged(now, sc)
	return nil
}

// SecretNames are sc's secret names, sorted.
func SecretNames(sc *Script) []string {
	names := make([]string, 0, len(sc.Secrets))
	for k := range sc.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
