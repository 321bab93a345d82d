// Package worker models the moltworker Worker as Cloudflare runs it once
// deployed: the Access edge in front of it, the Worker's own routes, its
// Sandbox container with the OpenClaw gateway inside, and the tails that
// stream what it logs. It is not the Cloudflare API: what it knows of the
// account (scripts, container applications, buckets, Access) it reads
// through the Account interface, which the emulator's HTTP front
// implements over the API model.
package worker

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Saved is the deployed Workers' part of the emulator's saved state.
type Saved struct {
	// Runtimes is the deployed Worker model, keyed by script name.
	Runtimes map[string]*Runtime `json:"runtimes"`
}

// Account is what the deployed Worker reads of the account it runs in.
// Its methods are called with Config.Lock held.
type Account interface {
	// Script is the uploaded Worker named name; ok is false when there is none.
	Script(name string) (sc Script, ok bool)
	// Subdomain is the account's workers.dev subdomain, "" when none is registered.
	Subdomain() string
	// ContainerImage is the image of the container application bound to
	// the Durable Object namespace; ok is false when no application is.
	ContainerImage(namespaceID string) (image string, ok bool)
	// ImageExists reports whether the registry holds ref.
	ImageExists(ref string) bool
	// BucketExists reports whether the account has the R2 bucket.
	BucketExists(name string) bool
	// AccessAuthDomain is the Zero Trust organization's auth domain; ok is
	// false when the account has no organization.
	AccessAuthDomain() (domain string, ok bool)
	// AccessApp is the Access application whose domain or destinations
	// cover host (without port) and path.
	AccessApp(host, path string) (app AccessApp, ok bool)
	// ServiceTokenAdmitted reports whether a live service token with these
	// credentials exists and a non_identity policy of the app admits it.
	ServiceTokenAdmitted(app AccessApp, clientID, clientSecret string, now time.Time) bool
	// EmailAdmitted reports whether an allow policy of the app admits email.
	EmailAdmitted(app AccessApp, email string) bool
}

// Script is what the deployed Worker needs of its uploaded script.
type Script struct {
	// Env is the environment as the Worker's code sees it: plain-text vars
	// and secrets by name.
	Env map[string]string
	// WorkersDev is true when the script is served on workers.dev.
	WorkersDev bool
	// SandboxNamespace is the Durable Object namespace of the Sandbox class
	// (the container's), "" when the script has none.
	SandboxNamespace string
}

// AccessApp is what the Access edge needs of an Access application.
type AccessApp struct {
	ID   string
	Name string
	AUD  string
	// ServiceAuth401Redirect answers 401 instead of the login redirect when
	// every policy is non_identity.
	ServiceAuth401Redirect bool
	// OnlyServiceAuth is true when every policy of the app is non_identity.
	OnlyServiceAuth bool
}

// Config is how the emulator runs its deployed Workers.
type Config struct {
	// Lock guards Account and Saved; the Host takes it itself.
	Lock sync.Locker
	// Account is the account the Workers run in.
	Account Account
	// Saved holds the runtimes; it must stay the same value for the Host's life.
	Saved *Saved
	// Now is the clock.
	Now func() time.Time
	// ColdStart is how long the gateway takes to start.
	ColdStart time.Duration
}

// Host runs an account's deployed Workers.
type Host struct {
	mu        sync.Locker
	acct      Account
	st        *Saved
	now       func() time.Time
	coldStart time.Duration
	// jwtKey signs the Access JWTs of this emulator.
	jwtKey []byte

	tailMu sync.Mutex
	tails  map[string]*tailSession // by tail id
	// gatewayFaults maps a script to what its gateway prints when it
	// cannot start (SetGatewayFault); guarded by mu.
	gatewayFaults map[string]string
}

// New returns a Host.
func New(c Config) *Host {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Host{mu: c.Lock, acct: c.Account, st: c.Saved, now: c.Now, coldStart: c.ColdStart, jwtKey: key,
		tails: map[string]*tailSession{}, gatewayFaults: map[string]string{}}
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func shortHash(v string) string { return fullHash(v)[:12] }

func fullHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// ShortHash is how GatewayInfo.Env spells a value: the first 12 hex digits
// of its SHA-256.
func ShortHash(value string) string { return shortHash(value) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusRecorder notes the status a Worker answers, for its tail event.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (WebSocket upgrades).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
