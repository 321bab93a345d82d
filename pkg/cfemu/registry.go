package cfemu

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
)

// registerRegistry serves an OCI registry (go-containerregistry's, in
// memory) at /v2/ on the API listener. It accepts HTTP Basic auth with a
// password issued by POST /accounts/{id}/containers/registries/{host}/credentials
// that has not expired (any username: wrangler itself sends "v1"), and only
// repositories under <account_id>/.
func (s *Server) registerRegistry() {
	s.registry = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	s.api.Handle("/v2/", http.HandlerFunc(s.serveRegistry))
	// The other non-API surfaces of the same listener: tail WebSockets and
	// the deployed-Worker control endpoints.
	s.registerTail()
	s.registerWorkerControl()
}

// registryError writes the distribution spec's error body.
func registryError(w http.ResponseWriter, status int, code, msg string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="cfemu registry"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"errors":[{"code":"`+code+`","message":"`+msg+`"}]}`+"\n")
}

func (s *Server) serveRegistry(w http.ResponseWriter, r *http.Request) {
	_, password, hasAuth := r.BasicAuth()
	if !hasAuth {
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	s.mu.Lock()
	cred := s.state.RegistryLogin(s.opts.Now(), password)
	acct := s.state.Account.ID
	s.mu.Unlock()
	if cred == nil {
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v2/")
	if path == "gc/layers" && r.Method == http.MethodPut {
		// Cloudflare's registry extension that wrangler calls after deleting
		// an image; the in-memory registry has nothing to collect.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if path == "" || path == "_catalog" {
		s.registry.ServeHTTP(w, r)
		return
	}
	if !strings.HasPrefix(path, acct+"/") {
		registryError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
		return
	}
	need := "pull"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		need = "push"
	}
	if !cred.Allows(need) {
		registryError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
		return
	}
	repo, ref, isManifest := strings.Cut(path, "/manifests/")
	if !isManifest || (r.Method != http.MethodPut && r.Method != http.MethodDelete) {
		s.registry.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	s.registry.ServeHTTP(sw, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	imgs := &s.state.Containers.Images
	switch {
	case r.Method == http.MethodPut && sw.status == http.StatusCreated:
		if *imgs == nil {
			*imgs = map[string]bool{}
		}
		(*imgs)[repo+manifestSep(ref)+ref] = true
		if d := sw.Header().Get("Docker-Content-Digest"); d != "" {
			(*imgs)[repo+"@"+d] = true
		}
	case r.Method == http.MethodDelete && sw.status < 300:
		delete(*imgs, repo+manifestSep(ref)+ref)
	}
}

// manifestSep joins a repository and a reference: "@" for a digest, ":" for a tag.
func manifestSep(ref string) string {
	if strings.Contains(ref, ":") {
		return "@"
	}
	return ":"
}

// statusWriter remembers the status the registry answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// splitImageRef splits "host/account/name:tag" or "host/account/name@sha256:…"
// into host, repository and reference (tag or digest; "latest" when absent).
func splitImageRef(ref string) (host, repo, reference string) {
	host, rest, _ := strings.Cut(ref, "/")
	if name, digest, found := strings.Cut(rest, "@"); found {
		return host, name, digest
	}
	slash := strings.LastIndex(rest, "/")
	if colon := strings.LastIndex(rest, ":"); colon > slash {
		return host, rest[:colon], rest[colon+1:]
	}
	return host, rest, "latest"
}

// imageExists reports whether the registry holds ref (a tag or a digest),
// given as "<registry host>/<account>/<name>[:tag|@digest]". Manifests
// pushed in an earlier run of a saved state (--state) count: the state
// keeps their references though the in-memory registry starts empty.
// The caller holds s.mu.
func (s *Server) imageExists(ref string) bool {
	_, repo, reference := splitImageRef(ref)
	if repo == "" || s.registry == nil {
		return false
	}
	if s.state.Containers.Images[repo+manifestSep(reference)+reference] {
		return true
	}
	req := httptest.NewRequest(http.MethodHead, "/v2/"+repo+"/manifests/"+reference, nil)
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
	}, ", "))
	rec := httptest.NewRecorder()
	s.registry.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}

// ImageExists reports whether the emulator's registry holds the image
// reference (tag or digest), e.g. "127.0.0.1:PORT/<account>/app:tag".
func (s *Server) ImageExists(ref string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imageExists(ref)
}
