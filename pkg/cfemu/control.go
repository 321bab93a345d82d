package cfemu

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
)

// Control endpoints live under /__emulator/ (outside /client/v4): they
// stand for what a human does in the dashboard and let tests read what
// happened. They are never faulted, delayed or authenticated.
func (s *Server) registerControl() {
	s.api.HandleFunc("GET /__emulator/state", s.controlState)
	s.api.HandleFunc("POST /__emulator/account", s.controlAccount)
	s.api.HandleFunc("POST /__emulator/faults", s.controlFaults)
	s.api.HandleFunc("POST /__emulator/tokens", s.controlToken)
}

// controlState answers the whole state as JSON.
func (s *Server) controlState(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.state)
}

// AccountPatch is the body of POST /__emulator/account; absent fields are unchanged.
type AccountPatch = account.AccountPatch

// controlAccount patches the account (subscribing to Workers Paid,
// enabling R2 or Containers, registering a subdomain) and answers it.
func (s *Server) controlAccount(w http.ResponseWriter, r *http.Request) {
	var p AccountPatch
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, "bad account patch: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.Apply(&s.state.Account)
	writeJSON(w, http.StatusOK, s.state.Account)
}

// controlFaults replaces the fault options: {"rate":0.1,"kinds":["429"],"seed":1,"fail_at":[3]}.
func (s *Server) controlFaults(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Rate   float64  `json:"rate"`
		Kinds  []string `json:"kinds"`
		Seed   uint64   `json:"seed"`
		FailAt []int64  `json:"fail_at"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad faults: "+err.Error(), http.StatusBadRequest)
		return
	}
	for _, k := range body.Kinds {
		if !validFaultKind(k) {
			http.Error(w, "unknown fault kind "+k, http.StatusBadRequest)
			return
		}
	}
	s.SetFaults(FaultOptions{Rate: body.Rate, Kinds: body.Kinds, Seed: body.Seed, FailAt: body.FailAt})
	writeJSON(w, http.StatusOK, body)
}

// controlToken adds an API token: {"value","status","owner","permissions","expires_in"}.
func (s *Server) controlToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Value       string   `json:"value"`
		Name        string   `json:"name"`
		Status      string   `json:"status"`
		Owner       string   `json:"owner"`
		Permissions []string `json:"permissions"`
		ExpiresIn   string   `json:"expires_in"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad token: "+err.Error(), http.StatusBadRequest)
		return
	}
	if body.Value == "" {
		body.Value = "cfemu_" + newID()
	}
	if body.Status == "" {
		body.Status = "active"
	}
	if body.Owner == "" {
		body.Owner = "user"
	}
	t := &Token{ID: newID(), Name: body.Name, Status: body.Status, Owner: body.Owner, Permissions: body.Permissions}
	if body.ExpiresIn != "" {
		d, err := time.ParseDuration(body.ExpiresIn)
		if err != nil {
			http.Error(w, "bad expires_in: "+err.Error(), http.StatusBadRequest)
			return
		}
		at := s.opts.Now().Add(d)
		t.ExpiresOn = &at
	}
	s.mu.Lock()
	s.state.Tokens[body.Value] = t
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"value": body.Value, "id": t.ID})
}
