package cfemu

import (
	"mime"
	"net/http"
	"slices"
	"sort"
)

func (s *Server) registerSecrets() {
	base := "/accounts/{account_id}/workers/scripts/{script}"
	r, w := PermWorkersScriptsRead, PermWorkersScriptsWrite
	s.handle("PUT", base+"/secrets", s.guarded(w, s.withScript(s.putSecret)))
	s.handle("GET", base+"/secrets", s.guarded(r, s.withScript(s.listSecrets)))
	s.handle("GET", base+"/secrets/{name}", s.guarded(r, s.withScript(s.getSecret)))
	s.handle("DELETE", base+"/secrets/{name}", s.guarded(w, s.withScript(s.deleteSecret)))
	s.handle("PATCH", base+"/secrets-bulk", s.guarded(w, s.withScript(s.bulkSecrets)))
}

type secretBody struct {
	Name string `json:"name"`
	Text string `json:"text"`
	Type string `json:"type"`
}

// checkSecretName answers 10053 when name is already a non-secret binding.
func checkSecretName(w http.ResponseWriter, sc *Script, name string) bool {
	if name == "" {
		fail(w, http.StatusBadRequest, 10021, "secret name is required")
		return false
	}
	if slices.ContainsFunc(sc.Bindings, func(b Binding) bool { return b.Name == name }) {
		fail(w, http.StatusBadRequest, codeBindingInUse, "Binding name '%s' already in use. Please use a different name and try again.", name)
		return false
	}
	return true
}

// latestDeployed answers 10215 when the script's latest version is not the
// deployed one (after `versions upload` without `versions deploy`).
func latestDeployed(w http.ResponseWriter, sc *Script) bool {
	if len(sc.Versions) == 0 {
		return true
	}
	last := sc.Versions[len(sc.Versions)-1].ID
	if n := len(sc.Deployments); n > 0 {
		for _, v := range sc.Deployments[n-1].Versions {
			if v.VersionID == last && v.Percentage == 100 {
				return true
			}
		}
	}
	fail(w, http.StatusBadRequest, 10215, "Secret edit failed. You attempted to modify a secret, but the latest version of your Worker isn't currently deployed. Please ensure that the latest version of your Worker is fully deployed (wrangler versions deploy) before modifying secrets. Alternatively, you can use the Cloudflare dashboard to modify secrets on a non-deployed version.")
	return false
}

// putSecret sets one secret; like every secret change on Cloudflare it
// creates and deploys a new version of the script.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request, sc *Script) {
	var body secretBody
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.Type == "" {
		body.Type = "secret_text"
	}
	if body.Type != "secret_text" && body.Type != "secret_key" {
		fail(w, http.StatusBadRequest, 10021, "Unsupported secret type %q", body.Type)
		return
	}
	if !checkSecretName(w, sc, body.Name) || !latestDeployed(w, sc) {
		return
	}
	sc.Secrets[body.Name] = body.Text
	sc.ModifiedOn = s.opts.Now().UTC()
	s.newVersion(sc, "api", map[string]string{"workers/triggered_by": "secret"}, true)
	ok(w, http.StatusOK, map[string]string{"name": body.Name, "type": body.Type})
}

func secretList(sc *Script) []map[string]string {
	names := make([]string, 0, len(sc.Secrets))
	for k := range sc.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	out := []map[string]string{}
	for _, n := range names {
		out = append(out, map[string]string{"name": n, "type": "secret_text"})
	}
	return out
}

func (s *Server) listSecrets(w http.ResponseWriter, _ *http.Request, sc *Script) {
	ok(w, http.StatusOK, secretList(sc))
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, sc *Script) {
	name := r.PathValue("name")
	if _, found := sc.Secrets[name]; !found {
		fail(w, http.StatusNotFound, codeBindingNotFound, "Binding '%s' not found.", name)
		return
	}
	ok(w, http.StatusOK, map[string]string{"name": name, "type": "secret_text"})
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, sc *Script) {
	name := r.PathValue("name")
	if _, found := sc.Secrets[name]; !found {
		fail(w, http.StatusNotFound, codeBindingNotFound, "Binding '%s' not found.", name)
		return
	}
	if !latestDeployed(w, sc) {
		return
	}
	delete(sc.Secrets, name)
	sc.ModifiedOn = s.opts.Now().UTC()
	s.newVersion(sc, "api", map[string]string{"workers/triggered_by": "secret"}, true)
	ok(w, http.StatusOK, nil)
}

// bulkSecrets applies an RFC 7396 merge patch of secrets as wrangler's
// `secret bulk` sends it: {"secrets": {"K": {name,text,type}, "OLD": null}}
// (present = set, null = delete, absent = unchanged), in one new version.
func (s *Server) bulkSecrets(w http.ResponseWriter, r *http.Request, sc *Script) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/merge-patch+json" {
		fail(w, http.StatusUnsupportedMediaType, 10021, "Content-Type must be application/merge-patch+json")
		return
	}
	var body struct {
		Secrets map[string]*secretBody `json:"secrets"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if len(body.Secrets) > 100 {
		fail(w, http.StatusBadRequest, 10021, "A bulk update may change at most 100 secrets")
		return
	}
	for k, v := range body.Secrets {
		if v != nil && !checkSecretName(w, sc, k) {
			return
		}
		if v != nil && v.Type != "" && v.Type != "secret_text" && v.Type != "secret_key" {
			fail(w, http.StatusBadRequest, 10021, "Unsupported secret type %q", v.Type)
			return
		}
	}
	if !latestDeployed(w, sc) {
		return
	}
	for k, v := range body.Secrets {
		if v == nil {
			delete(sc.Secrets, k)
			continue
		}
		sc.Secrets[k] = v.Text
	}
	sc.ModifiedOn = s.opts.Now().UTC()
	s.newVersion(sc, "api", map[string]string{"workers/triggered_by": "secret"}, true)
	ok(w, http.StatusOK, secretList(sc))
}
