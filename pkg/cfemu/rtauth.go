package cfemu

import (
	"net/http"
	"strings"
)

// rtToken returns the token a request authenticates with (Bearer), or nil.
// The caller holds s.mu.
func (s *Server) rtToken(r *http.Request) *Token {
	v := r.Header.Get("Authorization")
	if !strings.HasPrefix(v, "Bearer ") {
		return nil
	}
	return s.state.Tokens[strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))]
}

// tokenHas reports whether t grants permission; a Write grant covers Read.
func tokenHas(t *Token, permission string) bool {
	if t.Permissions == nil || permission == "" {
		return true
	}
	for _, p := range t.Permissions {
		if p == permission {
			return true
		}
		if strings.HasSuffix(permission, " Read") && p == strings.TrimSuffix(permission, " Read")+" Write" {
			return true
		}
	}
	return false
}

// rtAuthorize checks the request's API token for permission and answers
// Cloudflare's authentication errors when it fails. The caller holds s.mu.
func (s *Server) rtAuthorize(w http.ResponseWriter, r *http.Request, permission string) (*Token, bool) {
	t := s.rtToken(r)
	switch {
	case t == nil && r.Header.Get("Authorization") == "":
		fail(w, http.StatusBadRequest, 6003, "Invalid request headers")
		return nil, false
	case t == nil:
		fail(w, http.StatusUnauthorized, 10000, "Authentication error")
		return nil, false
	case t.Status != "active" || (t.ExpiresOn != nil && !s.opts.Now().Before(*t.ExpiresOn)):
		fail(w, http.StatusUnauthorized, 10000, "Authentication error")
		return nil, false
	case !tokenHas(t, permission):
		fail(w, http.StatusForbidden, 10000, "Authentication error")
		return nil, false
	}
	return t, true
}

// rtAccount checks the {account_id} path value against the emulated account.
func (s *Server) rtAccount(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("account_id") != s.state.Account.ID {
		fail(w, http.StatusForbidden, 9109, "Unauthorized to access requested resource")
		return false
	}
	return true
}
