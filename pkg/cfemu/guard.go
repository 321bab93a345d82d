package cfemu

import (
	"crypto/subtle"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
)

// The emulator holds every secret value a test or demo set, and its
// control endpoints mint tokens. Served on a port of a developer's
// machine, it must not be reachable by a web page the developer visits:
//
//   - DNS rebinding: a page on attacker.example whose name later resolves
//     to 127.0.0.1 reaches the port with "Host: attacker.example". Only
//     hosts that cannot be rebound are answered: IP literals (the browser's
//     origin is then the address itself), localhost and *.localhost (RFC
//     6761: never sent to DNS), and the workers.dev names of deployed
//     Workers (Cloudflare's zone; no attacker can point it here).
//   - Cross-site requests: a page may POST a form or a text/plain body to
//     any address without a CORS preflight. Control endpoints that change
//     state therefore require Content-Type: application/json (which only a
//     preflighted, and so refused, cross-origin request can carry) or the
//     emulator's API token.

// hostAllowed reports whether the Host header names the emulator in a way
// DNS rebinding cannot produce.
func hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".workers.dev")
}

// controlAllowed reports whether a control request may change state: it
// must not be something a browser sends cross-site without a preflight.
func (s *Server) controlAllowed(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/json" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1
}

// guard turns away requests for a host DNS rebinding could have produced,
// and state-changing control requests a browser could send cross-site.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host) {
			http.Error(w, fmt.Sprintf("cfemu: host %q is not served here: use 127.0.0.1, localhost or a *.localhost name", r.Host), http.StatusMisdirectedRequest)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/__emulator/") && workerHost(r.Host) == "" && !s.controlAllowed(r) {
			http.Error(w, "cfemu: control requests need Content-Type: application/json (or the emulator's token as a bearer token)", http.StatusUnsupportedMediaType)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackListener reports whether addr is a loopback address.
func isLoopbackListener(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
