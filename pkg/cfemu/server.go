// Package cfemu is an in-memory emulator of the part of the Cloudflare API
// that moltctl (and wrangler, for the same operations) uses: accounts and
// tokens, Workers scripts, assets, secrets and subdomains, R2, Containers
// and its image registry, Zero Trust Access, and a model of the deployed
// moltworker Worker itself. It is stateful, answers with Cloudflare's real
// paths, envelopes, error codes and messages, and can inject latency and
// faults. Tests run it in-process; cmd/cfemu serves it on 127.0.0.1.
package cfemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu/worker"
)

// APIPrefix is where the API is served, as on api.cloudflare.com.
const APIPrefix = "/client/v4"

// Options configure an emulator.
type Options struct {
	// AccountID and Token are the account and the API token it accepts;
	// generated when empty.
	AccountID string
	Token     string
	// Scenario is ScenarioReady (default) or ScenarioNewAccount.
	Scenario string
	// Latency is added to every API and registry request.
	Latency time.Duration
	// Faults injects failures; see faults.go.
	Faults FaultOptions
	// Log receives one JSON object per request; see log.go.
	Log io.Writer
	// ColdStart is how long the deployed gateway takes to start (default 3s).
	ColdStart time.Duration
	// VersionLag is how many reads of a just-uploaded Worker version answer
	// 404 with code 100146 before it is readable, as on Cloudflare, where a
	// new version takes a moment to appear: 0 means 1, negative means none.
	VersionLag int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ListenAny lets Listen use an address other than loopback. The
	// emulator has no real authentication and hands out every secret it
	// holds: only a trusted network may reach it.
	ListenAny bool
}

// Server is a running emulator.
type Server struct {
	opts Options

	mu    sync.Mutex
	state *State

	api     *http.ServeMux // API and registry, by path
	faults  atomic.Pointer[faultInjector]
	logMu   sync.Mutex
	reqSeq  int64
	httpSrv *httptest.Server
	baseURL string // http://127.0.0.1:PORT

	registry http.Handler // the container image registry (registry.go)
	// workers runs the deployed Workers (package worker) over this state.
	workers *worker.Host
}

// New returns an emulator with the scenario's initial state. It does not
// listen until Start or Listen is called; Handler serves it directly.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ColdStart == 0 {
		opts.ColdStart = 3 * time.Second
	}
	if opts.Scenario == "" {
		opts.Scenario = ScenarioReady
	}
	if opts.AccountID == "" {
		opts.AccountID = newID()
	}
	if opts.Token == "" {
		opts.Token = "cfemu_" + newID()
	}
	s := &Server{opts: opts, api: http.NewServeMux()}
	s.state = newState(opts)
	s.workers = worker.New(worker.Config{Lock: &s.mu, Account: workerAccount{s}, Saved: &s.state.Saved,
		Now: opts.Now, ColdStart: opts.ColdStart})
	s.faults.Store(newFaultInjector(opts.Faults))
	s.routes()
	return s
}

// Start serves the emulator on a random loopback port until Close.
func (s *Server) Start() *Server {
	s.httpSrv = httptest.NewServer(s.Handler())
	s.baseURL = s.httpSrv.URL
	return s
}

// Listen serves on addr (host:port) in the background and returns the
// listener's address. Unless Options.ListenAny is set, addr must be a
// loopback address: judged by the socket actually bound, not by the name.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	if !s.opts.ListenAny && !isLoopbackListener(ln.Addr()) {
		ln.Close()
		return "", fmt.Errorf("listen %s: %s is not a loopback address; the emulator serves every secret it holds to anyone who can reach it, so it listens on 127.0.0.1 unless --listen-any is given", addr, ln.Addr())
	}
	s.httpSrv = httptest.NewUnstartedServer(s.Handler())
	s.httpSrv.Listener.Close()
	s.httpSrv.Listener = ln
	s.httpSrv.Start()
	s.baseURL = "http://" + ln.Addr().String()
	return ln.Addr().String(), nil
}

// Close stops the server.
func (s *Server) Close() {
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
}

// URL is the server's root, e.g. http://127.0.0.1:8787.
func (s *Server) URL() string { return s.baseURL }

// APIURL is the value for CLOUDFLARE_API_BASE_URL.
func (s *Server) APIURL() string { return s.baseURL + APIPrefix }

// RegistryHost is the value for CLOUDFLARE_CONTAINER_REGISTRY.
func (s *Server) RegistryHost() string { return strings.TrimPrefix(s.baseURL, "http://") }

// WorkersDevURLTemplate is the value for MOLTCTL_WORKERS_DEV_URL: deployed
// Workers are served on this machine under <name>.<subdomain>.workers.dev.localhost,
// which moltctl resolves to loopback as RFC 6761 asks.
func (s *Server) WorkersDevURLTemplate() string {
	_, port, _ := net.SplitHostPort(s.RegistryHost())
	return "http://{name}.{subdomain}.workers.dev.localhost:" + port
}

// AccountID is the emulated account's id.
func (s *Server) AccountID() string { return s.opts.AccountID }

// Token is an API token the emulator accepts with every permission.
func (s *Server) Token() string { return s.opts.Token }

// Handler serves the API, the registry and deployed Workers. Requests whose
// Host is a workers.dev name go to the deployed Worker; the rest to the API.
func (s *Server) Handler() http.Handler {
	return s.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := workerHost(r.Host); host != "" {
			// Logged unnumbered: --fail-at counts API and registry requests only.
			rec := &recorder{ResponseWriter: w, status: 200}
			creds := s.credentialsIn(r)
			s.workers.Serve(rec, r, host)
			s.logRequest(logEntry{Time: s.opts.Now().UTC(), Method: r.Method, Host: r.Host, Path: r.URL.Path,
				Status: rec.status, ResponseBytes: rec.bytes, Credentials: creds})
			return
		}
		s.serveAPI(w, r)
	}))
}

// workerHost returns "<name>.<sub>.workers.dev" for a request to a deployed
// Worker (with or without the .localhost suffix and port), else "".
func workerHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".localhost")
	if strings.HasSuffix(host, ".workers.dev") {
		return host
	}
	return ""
}

// serveAPI applies latency, faults and logging around the API and registry
// mux. Control requests (/__emulator/) are neither delayed, faulted,
// numbered nor logged, so --fail-at N counts API and registry requests only.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/__emulator/") {
		s.api.ServeHTTP(w, r)
		return
	}
	rec := &recorder{ResponseWriter: w, status: 200}
	creds := s.credentialsIn(r)
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	seq := s.nextSeq()
	if s.opts.Latency > 0 {
		time.Sleep(s.opts.Latency)
	}
	fault := s.faults.Load().decide(seq)
	if fault != "" {
		s.applyFault(rec, fault)
		if fault == FaultDrop {
			rec.status = 0
		}
	} else {
		s.api.ServeHTTP(rec, r)
	}
	s.logRequest(logEntry{
		Seq: seq, Time: s.opts.Now().UTC(), Method: r.Method, Path: r.URL.Path,
		Status: rec.status, Bytes: len(body), ResponseBytes: rec.bytes, Fault: fault,
		Host: r.Host, Credentials: creds,
	})
}

func (s *Server) nextSeq() int64 {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.reqSeq++
	return s.reqSeq
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack lets the dropped-connection fault close the socket.
func (r *recorder) Hijack() (net.Conn, *bufioReadWriter, error) {
	return hijack(r.ResponseWriter)
}

// Flush supports streaming responses (tail, registry uploads).
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// apiError is one entry of the envelope's errors.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// envelope is Cloudflare's v4 response wrapper.
type envelope struct {
	Success    bool        `json:"success"`
	Errors     []apiError  `json:"errors"`
	Messages   []any       `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

type resultInfo struct {
	Page       int    `json:"page,omitempty"`
	PerPage    int    `json:"per_page,omitempty"`
	Count      int    `json:"count"`
	TotalCount int    `json:"total_count,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ok writes a success envelope.
func ok(w http.ResponseWriter, status int, result any) {
	writeJSON(w, status, envelope{Success: true, Errors: []apiError{}, Messages: []any{}, Result: result})
}

// okList writes a success envelope with result_info for a list.
func okList(w http.ResponseWriter, result any, count int) {
	writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiError{}, Messages: []any{}, Result: result,
		ResultInfo: &resultInfo{Page: 1, PerPage: max(count, 20), Count: count, TotalCount: count}})
}

// fail writes an error envelope with Cloudflare's code and message.
func fail(w http.ResponseWriter, status, code int, format string, args ...any) {
	writeJSON(w, status, envelope{Success: false, Errors: []apiError{{Code: code, Message: fmt.Sprintf(format, args...)}}, Messages: []any{}, Result: nil})
}

// decodeJSON reads a JSON body into v, answering 400 with Cloudflare's
// malformed-request error when it cannot.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		fail(w, http.StatusBadRequest, 10026, "Could not parse request body: %v", err)
		return false
	}
	return true
}
