package cfemu

import (
	"mime"
	"net/http"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
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

// putSecret sets one secret; like every secret change on Cloudflare it
// creates and deploys a new version of the script.
func (s *Server) putSecret(w http.ResponseWriter, r *http.Request, sc *Script) {
	var body account.Secret
	if !decodeJSON(w, r, &body) {
		return
	}
	typ, err := s.state.SetSecret(s.opts.Now(), sc, body)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, map[string]string{"name": body.Name, "type": typ})
}

func secretList(sc *Script) []map[string]string {
	out := []map[string]string{}
	for _, n := range account.SecretNames(sc) {
		out = append(out, map[string]string{"name": n, "type": "secret_text"})
	}
	return out
}

func (s *Server) listSecrets(w http.ResponseWriter, _ *http.Request, sc *Script) {
	ok(w, http.StatusOK, secretList(sc))
}

func (s *Server) getSecret(w http.ResponseWriter, r *http.Request, sc *Script) {
	name := r.PathValue("name")
	if err := account.HasSecret(sc, name); err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, map[string]string{"name": name, "type": "secret_text"})
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request, sc *Script) {
	if err := s.state.DeleteSecret(s.opts.Now(), sc, r.PathValue("name")); err != nil {
		writeFailure(w, err)
		return
	}
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
		Secrets map[string]*account.Secret `json:"secrets"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if err := s.state.PatchSecrets(s.opts.Now(), sc, body.Secrets); err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, secretList(sc))
}
