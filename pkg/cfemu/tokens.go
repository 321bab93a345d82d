package cfemu

import (
	"net/http"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
)

// The token model's names (package account).
const (
	permAPITokensWrite        = account.PermAPITokensWrite
	permAPITokensRead         = account.PermAPITokensRead
	permAccountAPITokensWrite = account.PermAccountAPITokensWrite
	permAccountAPITokensRead  = account.PermAccountAPITokensRead
)

// PermissionGroup is an API token permission group.
type PermissionGroup = account.PermissionGroup

// PermissionGroupNames are the permission groups the emulator enforces.
var PermissionGroupNames = account.PermissionGroupNames

// PermissionGroups lists every group with its id and scope.
func PermissionGroups() []PermissionGroup { return account.PermissionGroups() }

func (s *Server) registerTokens() {
	for _, base := range []string{"/user/tokens", "/accounts/{account_id}/tokens"} {
		owner, write, read := "user", permAPITokensWrite, permAPITokensRead
		if base != "/user/tokens" {
			owner, write, read = "account", permAccountAPITokensWrite, permAccountAPITokensRead
		}
		s.handle("GET", base+"/permission_groups", s.tokensGuard(read, s.listPermissionGroups))
		s.handle("POST", base, s.tokensGuard(write, s.createAPIToken(owner)))
		s.handle("GET", base, s.tokensGuard(read, s.listAPITokens(owner)))
		s.handle("GET", base+"/{token_id}", s.tokensGuard(read, s.getAPIToken(owner)))
		s.handle("DELETE", base+"/{token_id}", s.tokensGuard(write, s.deleteAPIToken(owner)))
	}
}

func (s *Server) tokensGuard(permission string, h http.HandlerFunc) http.HandlerFunc {
	return s.guarded(permission, func(w http.ResponseWriter, r *http.Request, _ *Token) { h(w, r) })
}

func (s *Server) listPermissionGroups(w http.ResponseWriter, r *http.Request) {
	name, scope := r.URL.Query().Get("name"), r.URL.Query().Get("scope")
	out := []PermissionGroup{}
	for _, g := range PermissionGroups() {
		if (name == "" || g.Name == name) && (scope == "" || g.Scopes[0] == scope) {
			out = append(out, g)
		}
	}
	okList(w, out, len(out))
}

func tokenView(t *Token) map[string]any {
	m := map[string]any{"id": t.ID, "name": t.Name, "status": t.Status, "policies": account.TokenPolicies(t)}
	if t.ExpiresOn != nil {
		m["expires_on"] = t.ExpiresOn
	}
	return m
}

func (s *Server) createAPIToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req account.NewToken
		if !decodeJSON(w, r, &req) {
			return
		}
		value, t, err := s.state.CreateToken(owner, req)
		if err != nil {
			writeFailure(w, err)
			return
		}
		out := tokenView(t)
		now := s.opts.Now().UTC()
		out["issued_on"], out["modified_on"], out["value"] = now, now, value
		if len(req.Condition) > 0 {
			out["condition"] = req.Condition
		}
		ok(w, http.StatusOK, out)
	}
}

func (s *Server) listAPITokens(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := []any{}
		for _, t := range s.state.OwnedTokens(owner) {
			out = append(out, tokenView(t))
		}
		okList(w, out, len(out))
	}
}

// getAPIToken reads one token; tokensGuard has checked the Read
// permission, which Cloudflare asks even of a token reading itself.
func (s *Server) getAPIToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, t, err := s.state.TokenByID(owner, r.PathValue("token_id"))
		if err != nil {
			writeFailure(w, err)
			return
		}
		ok(w, http.StatusOK, tokenView(t))
	}
}

func (s *Server) deleteAPIToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := s.state.DeleteToken(owner, r.PathValue("token_id"))
		if err != nil {
			writeFailure(w, err)
			return
		}
		ok(w, http.StatusOK, map[string]any{"id": t.ID})
	}
}
