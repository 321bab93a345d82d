package cfemu

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// logEntry is one line of the request log (--log FILE). It never holds a
// request or response body, so secret values cannot reach it.
type logEntry struct {
	Seq           int64     `json:"seq,omitempty"`
	Time          time.Time `json:"time"`
	Method        string    `json:"method"`
	Host          string    `json:"host,omitempty"`
	Path          string    `json:"path"`
	Status        int       `json:"status"`
	Bytes         int       `json:"bytes"`
	ResponseBytes int       `json:"response_bytes"`
	Fault         string    `json:"fault,omitempty"`
	// Credentials names the kinds of credential the request carried
	// ("api_token", "registry_password"), never their values, so a test can
	// prove each went only where it belongs.
	Credentials []string `json:"credentials,omitempty"`
}

func (s *Server) logRequest(e logEntry) {
	if s.opts.Log == nil {
		return
	}
	b, _ := json.Marshal(e)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	_, _ = s.opts.Log.Write(append(b, '\n'))
}

// Kinds of credential the request log reports.
const (
	CredentialAPIToken         = "api_token"
	CredentialRegistryPassword = "registry_password"
)

// credentialsIn reports which credentials the emulator issued appear
// anywhere in r's headers: as a bearer token, in Basic auth, or as a bare
// header value.
func (s *Server) credentialsIn(r *http.Request) []string {
	var words []string
	for _, vs := range r.Header {
		for _, v := range vs {
			for _, w := range strings.Fields(v) {
				words = append(words, w)
				if b, err := base64.StdEncoding.DecodeString(w); err == nil {
					user, pass, _ := strings.Cut(string(b), ":")
					words = append(words, user, pass)
				}
			}
		}
	}
	found := map[string]bool{}
	s.mu.Lock()
	for _, w := range words {
		if w == "" {
			continue
		}
		if s.state.Tokens[w] != nil {
			found[CredentialAPIToken] = true
		}
		sum := sha256.Sum256([]byte(w))
		if s.state.Containers.Credentials[hex.EncodeToString(sum[:])] != nil {
			found[CredentialRegistryPassword] = true
		}
	}
	s.mu.Unlock()
	var kinds []string
	for k := range found {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
