package cfemu

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// State is everything the emulator knows. It is saved to and loaded from
// JSON (--state FILE) so a run can be inspected and a scenario prepared.
// Every field is guarded by Server.mu.
type State struct {
	Account Account `json:"account"`
	// Tokens by value. The values are credentials of the emulator, not user secrets.
	Tokens map[string]*Token `json:"tokens"`

	Scripts  map[string]*Script `json:"scripts"`
	Buckets  map[string]*Bucket `json:"buckets"`
	AssetSet map[string]bool    `json:"assets"` // content hashes already uploaded

	Containers ContainersState `json:"containers"`
	Access     AccessState     `json:"access"`
	// Runtimes is the deployed Worker model, keyed by script name.
	Runtimes map[string]*Runtime `json:"runtimes"`
}

// Account is the emulated account and what it is entitled to.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Subdomain is the workers.dev subdomain, "" when none is registered.
	Subdomain   string `json:"subdomain"`
	WorkersPaid bool   `json:"workers_paid"`
	R2Enabled   bool   `json:"r2_enabled"`
	// ContainersEnabled is true when Containers answer (needs Workers Paid).
	ContainersEnabled bool   `json:"containers_enabled"`
	Email             string `json:"email"`
}

// Token is an API token the emulator accepts.
type Token struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"` // active, disabled, expired
	// Owner is "user" or "account": account tokens fail /user/tokens/verify with 1000.
	Owner     string     `json:"owner"`
	ExpiresOn *time.Time `json:"expires_on,omitempty"`
	// Permissions are permission group names; nil means every permission.
	Permissions []string `json:"permissions,omitempty"`
	// Policies as sent when the token was created through the API.
	Policies json.RawMessage `json:"policies,omitempty"`
}

// Script is an uploaded Worker.
type Script struct {
	Name string `json:"name"`
	// ID is the script tag.
	ID string `json:"id"`
}

// Bucket is an R2 bucket.
type Bucket struct {
	Name         string    `json:"name"`
	CreationDate time.Time `json:"creation_date"`
	Location     string    `json:"location,omitempty"`
	StorageClass string    `json:"storage_class,omitempty"`
}

// ContainersState holds container applications and pushed images.
type ContainersState struct{}

// AccessState holds the Zero Trust organization, applications, policies and service tokens.
type AccessState struct{}

// Runtime is the state of a deployed moltworker Worker.
type Runtime struct{}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newState(o Options) *State {
	st := &State{
		Account:  Account{ID: o.AccountID, Name: "Emulated Account", Email: "user@example.com"},
		Tokens:   map[string]*Token{o.Token: {ID: newID(), Name: "emulator token", Status: "active", Owner: "user"}},
		Scripts:  map[string]*Script{},
		Buckets:  map[string]*Bucket{},
		AssetSet: map[string]bool{},
		Runtimes: map[string]*Runtime{},
	}
	if o.Scenario == ScenarioReady {
		st.Account.Subdomain = "emulated"
		st.Account.WorkersPaid = true
		st.Account.R2Enabled = true
		st.Account.ContainersEnabled = true
	}
	return st
}

// Save writes the state as JSON to path.
func (s *Server) Save(path string) error {
	s.mu.Lock()
	b, err := json.MarshalIndent(s.state, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// Load replaces the state with the JSON in path.
func (s *Server) Load(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("state %s: %w", path, err)
	}
	s.mu.Lock()
	s.state = &st
	s.mu.Unlock()
	return nil
}

// Update runs fn with the state locked: tests use it to prepare scenarios
// (the human steps: subscribing to Workers Paid, enabling R2).
func (s *Server) Update(fn func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.state)
}

// View runs fn with the state locked, for reading.
func (s *Server) View(fn func(*State)) { s.Update(fn) }
