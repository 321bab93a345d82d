package cfemu

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu/worker"
)

// This file joins the deployed-Worker model (package worker) to the API
// model: workerAccount is what the Worker reads of the account, and the
// tail API, the control endpoints and the Server's helpers hand requests
// to the worker.Host.

// workerAccount answers the deployed Workers' questions from the API
// model. Its methods run with s.mu held (worker.Account).
type workerAccount struct{ s *Server }

func (a workerAccount) Script(name string) (worker.Script, bool) {
	sc := a.s.state.Scripts[name]
	if sc == nil {
		return worker.Script{}, false
	}
	return worker.Script{Env: sc.Env(), WorkersDev: sc.WorkersDevEnabled, SandboxNamespace: sc.SandboxNamespace()}, true
}

func (a workerAccount) Subdomain() string { return a.s.state.Account.Subdomain }

func (a workerAccount) ContainerImage(namespaceID string) (string, bool) {
	if app := a.s.state.Containers.AppForNamespace(namespaceID); app != nil {
		return app.Image(), true
	}
	return "", false
}

func (a workerAccount) ImageExists(ref string) bool { return a.s.imageExists(ref) }

func (a workerAccount) BucketExists(name string) bool {
	_, found := a.s.state.Buckets[name]
	return found
}

func (a workerAccount) AccessAuthDomain() (string, bool) {
	if org := a.s.state.Access.Organization; org != nil {
		return org.AuthDomain, true
	}
	return "", false
}

func (a workerAccount) AccessApp(host, path string) (worker.AccessApp, bool) {
	access := &a.s.state.Access
	app := access.CoveringApp(host, path)
	if app == nil {
		return worker.AccessApp{}, false
	}
	return worker.AccessApp{ID: app.ID, Name: app.Name, AUD: app.AUD,
		ServiceAuth401Redirect: app.ServiceAuth401Redirect, OnlyServiceAuth: access.OnlyServiceAuth(app)}, true
}

func (a workerAccount) ServiceTokenAdmitted(app worker.AccessApp, clientID, clientSecret string, now time.Time) bool {
	access := &a.s.state.Access
	acc := access.Apps[app.ID]
	return acc != nil && access.ServiceTokenAdmitted(acc, clientID, clientSecret, now)
}

func (a workerAccount) EmailAdmitted(app worker.AccessApp, email string) bool {
	access := &a.s.state.Access
	acc := access.Apps[app.ID]
	return acc != nil && access.EmailAdmitted(acc, email)
}

// doNamespace finds the script and class that own a Durable Object
// namespace id. The caller holds s.mu.
func (s *Server) doNamespace(id string) (script, class string, ok bool) {
	return s.state.NamespaceOwner(id)
}

func (s *Server) registerTail() {
	s.handle("POST", "/accounts/{account_id}/workers/scripts/{script}/tails", s.guarded(PermWorkersScriptsWrite, s.createTail))
	s.handle("DELETE", "/accounts/{account_id}/workers/scripts/{script}/tails/{tail_id}", s.guarded(PermWorkersScriptsWrite, s.deleteTail))
	s.api.HandleFunc("GET /__emulator/tail/{tail_id}", func(w http.ResponseWriter, r *http.Request) {
		s.workers.ServeTail(w, r, r.PathValue("tail_id"))
	})
}

func (s *Server) createTail(w http.ResponseWriter, r *http.Request, _ *Token) {
	script := r.PathValue("script")
	if s.state.Scripts[script] == nil {
		fail(w, http.StatusNotFound, 10007, "This Worker does not exist on your account.")
		return
	}
	id, expires := s.workers.CreateTail(script)
	ok(w, http.StatusOK, map[string]any{"id": id, "url": "ws://" + r.Host + "/__emulator/tail/" + id, "expires_at": expires})
}

func (s *Server) deleteTail(w http.ResponseWriter, r *http.Request, _ *Token) {
	if !s.workers.DeleteTail(r.PathValue("script"), r.PathValue("tail_id")) {
		fail(w, http.StatusNotFound, 10000, "tail not found")
		return
	}
	ok(w, http.StatusOK, nil)
}

// registerRuntimeControl adds the deployed-Worker control endpoints.
func (s *Server) registerWorkerControl() {
	s.api.HandleFunc("POST /__emulator/workers/{script}/devices", func(w http.ResponseWriter, r *http.Request) {
		id, err := s.AddPendingDevice(r.PathValue("script"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"requestId": id})
	})
	s.api.HandleFunc("POST /__emulator/workers/{script}/gateway/fault", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Stderr string `json:"stderr"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		s.SetGatewayFault(r.PathValue("script"), body.Stderr)
		writeJSON(w, http.StatusOK, map[string]any{"stderr": body.Stderr})
	})
	s.api.HandleFunc("GET /__emulator/workers/{script}/gateway", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		exists := s.state.Scripts[r.PathValue("script")] != nil
		s.mu.Unlock()
		if !exists {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no Worker named " + r.PathValue("script")})
			return
		}
		writeJSON(w, http.StatusOK, s.Gateway(r.PathValue("script")))
	})
}

// AddPendingDevice creates a pending device pairing request on script's
// gateway, as opening the Control UI in a new browser does, and returns its
// request id.
func (s *Server) AddPendingDevice(script string) (string, error) {
	return s.workers.AddPendingDevice(script)
}

// Gateway reports script's gateway process.
func (s *Server) Gateway(script string) GatewayInfo { return s.workers.Gateway(script) }

// SetGatewayFault makes the gateway of script fail (worker.Host.SetGatewayFault):
// a gateway started from now on never listens, and every request the
// Worker serves logs "[Gateway] " + stderr to its tails. An empty stderr
// clears the fault. The script need not exist yet.
func (s *Server) SetGatewayFault(script, stderr string) { s.workers.SetGatewayFault(script, stderr) }

// AccessLogin signs a user in through the Access application covering host,
// as the browser login does, and returns the CF_Authorization cookie value.
// It fails when no application covers host or no allow policy admits email.
func (s *Server) AccessLogin(host, email string) (string, error) {
	return s.workers.AccessLogin(host, email)
}

// ShortHash is how GatewayInfo.Env spells a value: the first 12 hex digits
// of its SHA-256.
func ShortHash(value string) string { return worker.ShortHash(value) }
