package cfemu

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
	"github.com/moltctl/moltctl/pkg/cfemu/worker"
)

// State is everything the emulator knows: the account as the API sees it
// (package account) and its deployed Workers (package worker). It is saved
// to and loaded from JSON (--state FILE) as one object, so a run can be
// inspected and a scenario prepared. Every field is guarded by Server.mu.
type State struct {
	account.State
	worker.Saved
}

// The API model's types, for callers of this package.
type (
	Account            = account.Account
	Token              = account.Token
	Script             = account.Script
	Module             = account.Module
	Binding            = account.Binding
	ScriptAssets       = account.ScriptAssets
	ScriptVersion      = account.ScriptVersion
	ScriptDeployment   = account.ScriptDeployment
	DeploymentVersion  = account.DeploymentVersion
	DONamespace        = account.DONamespace
	Bucket             = account.Bucket
	R2Object           = account.R2Object
	ContainersState    = account.ContainersState
	AccessState        = account.AccessState
	AccessOrganization = account.AccessOrganization
	AccessApp          = account.AccessApp
	AccessDestination  = account.AccessDestination
	PolicyLink         = account.PolicyLink
	AccessPolicy       = account.AccessPolicy
	ServiceToken       = account.ServiceToken
	ContainerApp       = account.ContainerApp
	ContainerDO        = account.ContainerDO
	ContainerRollout   = account.ContainerRollout
	RegistryCredential = account.RegistryCredential
)

// The deployed Worker model's types, for callers of this package.
type (
	Runtime       = worker.Runtime
	WorkerRuntime = worker.Runtime
	PendingDevice = worker.PendingDevice
	PairedDevice  = worker.PairedDevice
	GatewayInfo   = worker.GatewayInfo

	TailEventMessage = worker.TailEventMessage
	TailException    = worker.TailException
	TailLog          = worker.TailLog
	TailEvent        = worker.TailEvent
	TailRequest      = worker.TailRequest
	TailResponse     = worker.TailResponse
)

// Scenarios.
const (
	// ScenarioReady is a returning user's account: Workers Paid, R2 enabled,
	// a workers.dev subdomain, Containers and a Zero Trust organization.
	ScenarioReady = account.ScenarioReady
	// ScenarioNewAccount is a new free account: none of those.
	ScenarioNewAccount = account.ScenarioNewAccount
)

// ScopedPermissions are the permissions of Server.ScopedToken.
var ScopedPermissions = account.ScopedPermissions

func newState(o Options) *State {
	return &State{
		State: *account.NewState(o.AccountID, o.Token, o.Scenario, o.Now()),
		Saved: worker.Saved{Runtimes: map[string]*Runtime{}},
	}
}

// ExpiredToken is an API token that expired a day before the emulator started.
func (s *Server) ExpiredToken() string { return s.opts.Token + account.ExpiredSuffix }

// ScopedToken is an active API token holding only ScopedPermissions.
func (s *Server) ScopedToken() string { return s.opts.Token + account.ScopedSuffix }

// AccountToken is an active account-owned API token with every permission
// (it fails /user/tokens/verify with 1000, as account tokens do).
func (s *Server) AccountToken() string { return s.opts.Token + account.AccountSuffix }

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
	if st.Runtimes == nil {
		st.Runtimes = map[string]*Runtime{}
	}
	s.mu.Lock()
	st.State.Fill(&s.state.State)
	*s.state = st // in place: the Worker model holds on to it
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

func newID() string { return account.NewID() }

// fullHash is the SHA-256 of v in hex.
func fullHash(v string) string { return account.FullHash(v) }
func uuid() string             { return account.NewUUID() }
