package cfemu

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu/worker"
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
	// DONamespaces are the account's Durable Object namespaces by id; one per
	// (script, class), created by a migration and kept across uploads.
	DONamespaces map[string]*DONamespace `json:"durable_object_namespaces"`

	Containers ContainersState `json:"containers"`
	Access     AccessState     `json:"access"`
	// State holds the deployed Workers' runtimes (package worker); its
	// fields are saved beside the account's.
	worker.State
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
	ID         string    `json:"id"`
	Etag       string    `json:"etag"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`

	MainModule         string   `json:"main_module"`
	Modules            []Module `json:"modules,omitempty"`
	CompatibilityDate  string   `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string `json:"compatibility_flags,omitempty"`
	// Bindings are the script's bindings except secrets, in upload order.
	// A durable_object_namespace binding carries its NamespaceID.
	Bindings []Binding `json:"bindings"`
	// Secrets are secret_text values by name. The emulator's state is test
	// data; the request log never holds them.
	Secrets map[string]string `json:"secrets,omitempty"`
	// MigrationTag is the tag of the last applied Durable Object migration.
	MigrationTag string `json:"migration_tag,omitempty"`
	// Assets is the static assets manifest (path → hash) and its config.
	Assets *ScriptAssets `json:"assets,omitempty"`
	// Containers and Observability are as sent in the upload metadata.
	Containers    json.RawMessage `json:"containers,omitempty"`
	Observability json.RawMessage `json:"observability,omitempty"`
	Logpush       bool            `json:"logpush"`
	Tags          []string        `json:"tags,omitempty"`
	// WorkersDevEnabled is true when the script is served on workers.dev.
	WorkersDevEnabled bool `json:"workers_dev_enabled"`
	PreviewsEnabled   bool `json:"previews_enabled"`

	Versions    []*ScriptVersion    `json:"versions,omitempty"`
	Deployments []*ScriptDeployment `json:"deployments,omitempty"`
}

// Module is one uploaded module part (its content is not kept).
type Module struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
}

// Binding is one Worker binding as the API spells it. Secret values never
// appear here (see Script.Secrets).
type Binding struct {
	Type string `json:"type"`
	Name string `json:"name"`
	// Text is a plain_text var's value.
	Text string `json:"text,omitempty"`
	// Durable Object namespace.
	ClassName   string `json:"class_name,omitempty"`
	ScriptName  string `json:"script_name,omitempty"`
	Environment string `json:"environment,omitempty"`
	NamespaceID string `json:"namespace_id,omitempty"`
	// R2 bucket.
	BucketName   string `json:"bucket_name,omitempty"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	// JSON for json bindings; ID for kv/d1 and others; Service for service bindings.
	JSON    json.RawMessage `json:"json,omitempty"`
	ID      string          `json:"id,omitempty"`
	Service string          `json:"service,omitempty"`
}

// ScriptAssets is what a script serves as static assets.
type ScriptAssets struct {
	// Manifest maps "/path" to its content hash.
	Manifest map[string]string `json:"manifest"`
	Config   json.RawMessage   `json:"config,omitempty"`
}

// ScriptVersion is one uploaded version of a script.
type ScriptVersion struct {
	ID                 string            `json:"id"`
	Number             int               `json:"number"`
	CreatedOn          time.Time         `json:"created_on"`
	Source             string            `json:"source"`
	Annotations        map[string]string `json:"annotations,omitempty"`
	MainModule         string            `json:"main_module"`
	CompatibilityDate  string            `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string          `json:"compatibility_flags,omitempty"`
	// Bindings, secrets and assets as they were in this version.
	Bindings []Binding         `json:"bindings"`
	Secrets  map[string]string `json:"secrets,omitempty"`
	Assets   *ScriptAssets     `json:"assets,omitempty"`
	// lagReads counts reads answered "not found" while the version was new.
	lagReads int
}

// ScriptDeployment routes traffic to versions.
type ScriptDeployment struct {
	ID          string              `json:"id"`
	Source      string              `json:"source"`
	Strategy    string              `json:"strategy"`
	AuthorEmail string              `json:"author_email"`
	CreatedOn   time.Time           `json:"created_on"`
	Annotations map[string]string   `json:"annotations,omitempty"`
	Versions    []DeploymentVersion `json:"versions"`
}

// DeploymentVersion is a version's share of a deployment.
type DeploymentVersion struct {
	VersionID  string `json:"version_id"`
	Percentage int    `json:"percentage"`
}

// DONamespace is a Durable Object namespace.
type DONamespace struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Script    string `json:"script"`
	Class     string `json:"class"`
	UseSQLite bool   `json:"use_sqlite"`
}

// Bucket is an R2 bucket.
type Bucket struct {
	Name         string    `json:"name"`
	CreationDate time.Time `json:"creation_date"`
	Location     string    `json:"location,omitempty"`
	StorageClass string    `json:"storage_class,omitempty"`
	Jurisdiction string    `json:"jurisdiction,omitempty"`
	// Objects counts objects beyond Store (a test's way to make a bucket
	// non-empty); a bucket with objects cannot be deleted.
	Objects int `json:"objects,omitempty"`
	// Store holds objects put through the API, by key.
	Store map[string]*R2Object `json:"store,omitempty"`
}

// R2Object is an object in an emulated bucket.
type R2Object struct {
	Key         string    `json:"key"`
	Size        int       `json:"size"`
	ETag        string    `json:"etag"`
	ContentType string    `json:"content_type,omitempty"`
	Uploaded    time.Time `json:"uploaded"`
	Data        []byte    `json:"data,omitempty"`
}

// ContainersState holds container applications and registry credentials
// (pushed images live in the registry; see registry.go).
type ContainersState struct {
	Applications map[string]*ContainerApp `json:"applications,omitempty"`
	// Credentials issued for the registry, by SHA-256 of the password.
	Credentials map[string]*RegistryCredential `json:"credentials,omitempty"`
	// Images are the manifests pushed to the registry, as
	// "<account>/<name>:<tag>" and "<account>/<name>@<digest>".
	Images map[string]bool `json:"images,omitempty"`
}

// AccessState holds the Zero Trust organization, applications, policies and service tokens.
type AccessState struct {
	// Organization is nil until one is created (a new account has none).
	Organization  *AccessOrganization      `json:"organization,omitempty"`
	Apps          map[string]*AccessApp    `json:"apps,omitempty"`
	Policies      map[string]*AccessPolicy `json:"policies,omitempty"`
	ServiceTokens map[string]*ServiceToken `json:"service_tokens,omitempty"`
}

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

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fullHash is the SHA-256 of v in hex.
func fullHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// Scenario tokens: besides Options.Token (every permission), each emulator
// accepts these, derived from it so a saved state keeps them.
const (
	// expiredSuffix marks a token that expired yesterday.
	expiredSuffix = "_expired"
	// scopedSuffix marks a token that can only read Workers scripts and
	// account settings (no Workers Scripts Write, R2, Containers, Access).
	scopedSuffix = "_readonly"
	// accountSuffix marks an account-owned token with every permission.
	accountSuffix = "_account"
)

// ScopedPermissions are the permissions of Server.ScopedToken.
var ScopedPermissions = []string{"Workers Scripts Read", "Account Settings Read"}

func newState(o Options) *State {
	now := o.Now()
	yesterday := now.Add(-24 * time.Hour)
	st := &State{
		Account: Account{ID: o.AccountID, Name: "Emulated Account", Email: "user@example.com"},
		Tokens: map[string]*Token{
			o.Token:                 {ID: newID(), Name: "emulator token", Status: "active", Owner: "user"},
			o.Token + expiredSuffix: {ID: newID(), Name: "expired token", Status: "expired", Owner: "user", ExpiresOn: &yesterday},
			o.Token + scopedSuffix:  {ID: newID(), Name: "read-only token", Status: "active", Owner: "user", Permissions: ScopedPermissions},
			o.Token + accountSuffix: {ID: newID(), Name: "account token", Status: "active", Owner: "account"},
		},
		Scripts:      map[string]*Script{},
		Buckets:      map[string]*Bucket{},
		AssetSet:     map[string]bool{},
		DONamespaces: map[string]*DONamespace{},
		State:        worker.State{Runtimes: map[string]*Runtime{}},
	}
	if o.Scenario == ScenarioReady {
		st.Account.Subdomain = "emulated"
		st.Account.WorkersPaid = true
		st.Account.R2Enabled = true
		st.Account.ContainersEnabled = true
	}
	return st
}

// fill makes every map of a loaded state non-nil.
func (st *State) fill() {
	if st.Tokens == nil {
		st.Tokens = map[string]*Token{}
	}
	if st.Scripts == nil {
		st.Scripts = map[string]*Script{}
	}
	if st.Buckets == nil {
		st.Buckets = map[string]*Bucket{}
	}
	if st.AssetSet == nil {
		st.AssetSet = map[string]bool{}
	}
	if st.DONamespaces == nil {
		st.DONamespaces = map[string]*DONamespace{}
	}
	if st.Runtimes == nil {
		st.Runtimes = map[string]*Runtime{}
	}
	for _, sc := range st.Scripts {
		if sc.Secrets == nil {
			sc.Secrets = map[string]string{}
		}
	}
}

// ExpiredToken is an API token that expired a day before the emulator started.
func (s *Server) ExpiredToken() string { return s.opts.Token + expiredSuffix }

// ScopedToken is an active API token holding only ScopedPermissions.
func (s *Server) ScopedToken() string { return s.opts.Token + scopedSuffix }

// AccountToken is an active account-owned API token with every permission
// (it fails /user/tokens/verify with 1000, as account tokens do).
func (s *Server) AccountToken() string { return s.opts.Token + accountSuffix }

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
	st.fill()
	s.mu.Lock()
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
