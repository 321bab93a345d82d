package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// State is the Cloudflare account as the API sees it. It is saved to and
// loaded from JSON (with the deployed Workers' state, in package cfemu).
// Its methods are the rules that change it; they are not safe for
// concurrent use (the emulator's server holds one lock around them).
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

	// kept is what the account holds but a saved state does not.
	kept *unsaved
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

// NewID is a random 32-hex-digit id, as Cloudflare's.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FullHash is the SHA-256 of v in hex.
func FullHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// Scenario tokens: besides the main token (every permission), each account
// accepts these, derived from it so a saved state keeps them.
const (
	// ExpiredSuffix marks a token that expired yesterday.
	ExpiredSuffix = "_expired"
	// ScopedSuffix marks a token that can only read Workers scripts and
	// account settings (no Workers Scripts Write, R2, Containers, Access).
	ScopedSuffix = "_readonly"
	// AccountSuffix marks an account-owned token with every permission.
	AccountSuffix = "_account"
)

// ScopedPermissions are the permissions of the ScopedSuffix token.
var ScopedPermissions = []string{"Workers Scripts Read", "Account Settings Read"}

// Scenarios: the account a new emulator starts with.
const (
	// ScenarioReady is a returning user's account: Workers Paid, R2 enabled,
	// a workers.dev subdomain, Containers and a Zero Trust organization.
	ScenarioReady = "ready"
	// ScenarioNewAccount is a new free account: none of those.
	ScenarioNewAccount = "new-account"
)

// NewState is the account of scenario (ScenarioReady when ""), with id and
// the API token that holds every permission. Besides token it accepts the
// scenario tokens derived from it (expired, read-only, account-owned).
// Assets upload tokens are signed with token.
func NewState(id, token, scenario string, now time.Time) *State {
	yesterday := now.Add(-24 * time.Hour)
	st := &State{
		Account: Account{ID: id, Name: "Emulated Account", Email: "user@example.com"},
		Tokens: map[string]*Token{
			token:                 {ID: NewID(), Name: "emulator token", Status: "active", Owner: "user"},
			token + ExpiredSuffix: {ID: NewID(), Name: "expired token", Status: "expired", Owner: "user", ExpiresOn: &yesterday},
			token + ScopedSuffix:  {ID: NewID(), Name: "read-only token", Status: "active", Owner: "user", Permissions: ScopedPermissions},
			token + AccountSuffix: {ID: NewID(), Name: "account token", Status: "active", Owner: "account"},
		},
		Scripts:      map[string]*Script{},
		Buckets:      map[string]*Bucket{},
		AssetSet:     map[string]bool{},
		DONamespaces: map[string]*DONamespace{},
		kept:         &unsaved{assetKey: []byte(token)},
	}
	if scenario == "" || scenario == ScenarioReady {
		st.Account.Subdomain = "emulated"
		st.Account.WorkersPaid = true
		st.Account.R2Enabled = true
		st.Account.ContainersEnabled = true
		st.Access.Organization = &AccessOrganization{Name: "Emulated Team", AuthDomain: "emulated.cloudflareaccess.com",
			SessionDuration: "24h", CreatedAt: now.UTC(), UpdatedAt: now.UTC()}
	}
	return st
}

// unsaved is what the account holds but a saved state does not: open asset
// upload sessions, the key that signs their tokens, and the workers.dev
// names other accounts hold.
type unsaved struct {
	assetKey        []byte
	assetSessions   map[string]*assetSession
	takenSubdomains map[string]bool
}

// Fill makes every map of a loaded state non-nil and keeps what prev held
// that is not saved (asset upload sessions, names taken elsewhere).
func (st *State) Fill(prev *State) {
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
	for _, sc := range st.Scripts {
		if sc.Secrets == nil {
			sc.Secrets = map[string]string{}
		}
	}
	if prev != nil {
		st.kept = prev.kept
	}
}

// unsavedPart is st.kept, made when st was built without NewState.
func (st *State) unsavedPart() *unsaved {
	if st.kept == nil {
		st.kept = &unsaved{}
	}
	return st.kept
}

// AccessOrganization is the account's Zero Trust organization.
type AccessOrganization struct {
	Name                     string    `json:"name"`
	AuthDomain               string    `json:"auth_domain"`
	AutoRedirectToIdentity   bool      `json:"auto_redirect_to_identity"`
	AllowAuthenticateViaWarp bool      `json:"allow_authenticate_via_warp"`
	IsUIReadOnly             bool      `json:"is_ui_read_only"`
	SessionDuration          string    `json:"session_duration,omitempty"`
	CreatedAt                time.Time `json:"created_at"`
	UpdatedAt                time.Time `json:"updated_at"`
}

// AccessApp is an Access application.
type AccessApp struct {
	ID                     string              `json:"id"`
	Name                   string              `json:"name"`
	Domain                 string              `json:"domain,omitempty"`
	Type                   string              `json:"type"`
	AUD                    string              `json:"aud"`
	SessionDuration        string              `json:"session_duration,omitempty"`
	Destinations           []AccessDestination `json:"destinations,omitempty"`
	AutoRedirectToIdentity bool                `json:"auto_redirect_to_identity"`
	AppLauncherVisible     bool                `json:"app_launcher_visible"`
	ServiceAuth401Redirect bool                `json:"service_auth_401_redirect"`
	// PolicyLinks are the app's policies (its own and reusable ones) in order.
	PolicyLinks []PolicyLink `json:"policy_links,omitempty"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// AccessDestination is one hostname (and path) an application covers.
type AccessDestination struct {
	Type string `json:"type"`
	URI  string `json:"uri,omitempty"`
}

// PolicyLink attaches a policy to an application with a precedence.
type PolicyLink struct {
	ID         string `json:"id"`
	Precedence int    `json:"precedence"`
}

// AccessPolicy is an Access policy: reusable (account level) or scoped to one app.
type AccessPolicy struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Decision        string           `json:"decision"`
	Precedence      int              `json:"precedence,omitempty"`
	Include         []map[string]any `json:"include"`
	Exclude         []map[string]any `json:"exclude"`
	Require         []map[string]any `json:"require"`
	SessionDuration string           `json:"session_duration,omitempty"`
	Reusable        bool             `json:"reusable"`
	// AppID is the app an app-scoped policy belongs to.
	AppID     string    `json:"app_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ServiceToken is an Access service token. Its secret is kept only as a hash.
type ServiceToken struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	ClientID           string     `json:"client_id"`
	ClientSecretSHA256 string     `json:"client_secret_sha256"`
	Duration           string     `json:"duration"`
	ExpiresAt          *time.Time `json:"expires_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

// ContainerApp is a container application (wrangler's Application model).
type ContainerApp struct {
	ID               string         `json:"id"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
	AccountID        string         `json:"account_id"`
	Name             string         `json:"name"`
	Version          int            `json:"version"`
	SchedulingPolicy string         `json:"scheduling_policy"`
	Instances        int            `json:"instances"`
	MaxInstances     int            `json:"max_instances,omitempty"`
	Configuration    map[string]any `json:"configuration"`
	Constraints      any            `json:"constraints,omitempty"`
	Affinities       any            `json:"affinities,omitempty"`
	DurableObjects   *ContainerDO   `json:"durable_objects,omitempty"`
	// RolloutActiveGracePeriod is in seconds.
	RolloutActiveGracePeriod *int                `json:"rollout_active_grace_period,omitempty"`
	ActiveRolloutID          string              `json:"active_rollout_id,omitempty"`
	Rollouts                 []*ContainerRollout `json:"rollouts,omitempty"`
}

// ContainerDO ties an application to a Durable Object namespace.
type ContainerDO struct {
	NamespaceID string `json:"namespace_id"`
}

// ContainerRollout is an application rollout (wrangler's ApplicationRollout).
type ContainerRollout struct {
	ID                   string         `json:"id"`
	Description          string         `json:"description"`
	CreatedAt            time.Time      `json:"created_at"`
	LastUpdatedAt        time.Time      `json:"last_updated_at"`
	Kind                 string         `json:"kind"`
	Strategy             string         `json:"strategy"`
	CurrentVersion       int            `json:"current_version"`
	TargetVersion        int            `json:"target_version"`
	CurrentConfiguration map[string]any `json:"current_configuration"`
	TargetConfiguration  map[string]any `json:"target_configuration"`
	Status               string         `json:"status"`
	Steps                []RolloutStep  `json:"steps"`
	Progress             map[string]int `json:"progress"`
}

// RolloutStep is one step of a rollout.
type RolloutStep struct {
	ID          int            `json:"id"`
	StepSize    map[string]int `json:"step_size"`
	Description string         `json:"description"`
	Status      string         `json:"status"`
}

// RegistryCredential is a registry login issued by the credentials endpoint.
type RegistryCredential struct {
	Username    string    `json:"username"`
	Permissions []string  `json:"permissions"`
	ExpiresAt   time.Time `json:"expires_at"`
	// PasswordSHA256 identifies the password; the password itself is not kept.
	PasswordSHA256 string `json:"password_sha256"`
}

// Image returns the application's configured image reference.
func (a *ContainerApp) Image() string {
	s, _ := a.Configuration["image"].(string)
	return s
}

// AccountPatch changes the account as the dashboard does (POST
// /__emulator/account); absent fields are unchanged.
type AccountPatch struct {
	WorkersPaid       *bool   `json:"workers_paid"`
	R2Enabled         *bool   `json:"r2_enabled"`
	ContainersEnabled *bool   `json:"containers_enabled"`
	Subdomain         *string `json:"subdomain"`
	Email             *string `json:"email"`
	Name              *string `json:"name"`
}

// Apply changes the account as the patch says.
func (p AccountPatch) Apply(a *Account) {
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&a.WorkersPaid, p.WorkersPaid)
	set(&a.R2Enabled, p.R2Enabled)
	set(&a.ContainersEnabled, p.ContainersEnabled)
	if p.Subdomain != nil {
		a.Subdomain = *p.Subdomain
	}
	if p.Email != nil {
		a.Email = *p.Email
	}
	if p.Name != nil {
		a.Name = *p.Name
	}
}
