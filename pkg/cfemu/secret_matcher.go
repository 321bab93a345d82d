package cfemu

import (
	"context"
	"strings"
)

// SecretMatches tells whether Worker script's secret name holds value. The
// emulator keeps secret values, which Cloudflare never returns; tests pass
// the Server to moltctl as preflight's SecretMatcher so the Access check
// can compare values without moltctl's local digests.
func (s *Server) SecretMatches(_ context.Context, script, name, value string) (match, known bool, err error) {
	s.View(func(st *State) {
		sc := st.Scripts[script]
		if sc == nil {
			return
		}
		v, ok := sc.Secrets[name]
		if !ok {
			return
		}
		known = true
		match = v == value || (name == "CF_ACCESS_TEAM_DOMAIN" && strings.TrimPrefix(v, "https://") == value)
	})
	return match, known, nil
}
