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

// rtAuthorize checks the request's API token for permission (accounts.go's
// authorize). The caller holds s.mu.
func (s *Server) rtAuthorize(w http.ResponseWriter, r *http.Request, permission string) (*Token, bool) {
	return s.authorize(w, r, permission)
}

// rtAccount checks the {account_id} path value against the emulated account.
func (s *Server) rtAccount(w http.ResponseWriter, r *http.Request) bool { return s.checkAccount(w, r) }
