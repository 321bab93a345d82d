// Package state keeps what moltctl created for one deployment (one Worker
// in one account): ids of the Access application, service token, R2 token,
// the image digest and digests of the secrets last sent. It lives in the
// project under .moltctl/<worker>/, is written atomically with mode 0600,
// and never holds a secret value: credentials moltctl must keep (the Access
// service token's secret, generated secrets) go to a separate 0600 file.
package state

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/internal/atomicfile"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// SchemaVersion is bumped when Deployment changes incompatibly.
const SchemaVersion = 1

// DirName is the project-local directory holding moltctl's files.
const DirName = ".moltctl"

// Deployment is what moltctl knows about one deployed assistant.
type Deployment struct {
	SchemaVersion int    `json:"schema_version"`
	AccountID     string `json:"account_id"`
	WorkerName    string `json:"worker_name"`
	Env           string `json:"env,omitempty"`
	// URL is the Worker's base URL, e.g. https://moltbot-sandbox.me.workers.dev.
	URL       string `json:"url,omitempty"`
	Subdomain string `json:"subdomain,omitempty"`
	Bucket    string `json:"bucket,omitempty"`

	Image        Image        `json:"image"`
	Worker       Worker       `json:"worker"`
	ContainerApp ContainerApp `json:"container_app"`
	Access       Access       `json:"access"`
	R2Token      R2Token      `json:"r2_token"`
	// Secrets maps a secret's name to the HMAC digest of the value last sent.
	Secrets map[string]string `json:"secrets,omitempty"`
	// StaleGatewayProcess is the gateway process that was running when
	// secrets last changed without a restart: while it still runs, it has
	// the old values.
	StaleGatewayProcess string `json:"stale_gateway_process,omitempty"`

	LastDeploy *DeployRecord `json:"last_deploy,omitempty"`
}

// Image is the container image last pushed.
type Image struct {
	Ref    string `json:"ref,omitempty"` // registry/account/name:tag
	Digest string `json:"digest,omitempty"`
	Tag    string `json:"tag,omitempty"` // content tag of the build inputs
}

// Worker is the Worker script last uploaded.
type Worker struct {
	VersionID string `json:"version_id,omitempty"`
	// ContentHash covers the module files, metadata and asset manifest: equal means nothing to upload.
	ContentHash string `json:"content_hash,omitempty"`
	// DurableObjectNamespaceID is the Sandbox class's namespace.
	DurableObjectNamespaceID string `json:"durable_object_namespace_id,omitempty"`
}

// ContainerApp is the Cloudflare Containers application.
type ContainerApp struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Version int    `json:"version,omitempty"`
}

// Access is the Cloudflare Access wiring.
type Access struct {
	AppID      string   `json:"app_id,omitempty"`
	AUD        string   `json:"aud,omitempty"`
	TeamDomain string   `json:"team_domain,omitempty"`
	PolicyIDs  []string `json:"policy_ids,omitempty"`
	// ServiceTokenID and ServiceTokenClientID identify moltctl's own
	// service token; its secret is in the credentials file.
	ServiceTokenID       string `json:"service_token_id,omitempty"`
	ServiceTokenClientID string `json:"service_token_client_id,omitempty"`
}

// R2Token is the bucket-scoped API token whose derived S3 keys the container uses.
type R2Token struct {
	ID string `json:"id,omitempty"`
}

// DeployRecord summarises the last successful deploy.
type DeployRecord struct {
	At        time.Time `json:"at"`
	Version   string    `json:"moltctl_version"`
	Steps     []string  `json:"steps,omitempty"`
	Succeeded bool      `json:"succeeded"`
	// FailedStep is set when the last deploy stopped early.
	FailedStep string `json:"failed_step,omitempty"`
}

// Store reads and writes the files of one deployment.
type Store struct {
	// Dir is .moltctl/<worker>/ inside the project.
	Dir string
}

// Open returns the store for worker in projectDir, creating the directory
// (0700) and a .gitignore that keeps it out of version control.
func Open(projectDir, worker string) (*Store, error) {
	if worker == "" {
		return nil, errors.New("state: worker name is empty")
	}
	// The name becomes a directory: only a valid Worker name (no separator,
	// no dot-only name) keeps it inside .moltctl/, whoever calls.
	if !wrangler.ValidWorkerName(worker) {
		return nil, fmt.Errorf("state: %q is not a valid Worker name", worker)
	}
	root := filepath.Join(projectDir, DirName)
	dir := filepath.Join(root, worker)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	ignore := filepath.Join(root, ".gitignore")
	if _, err := os.Stat(ignore); errors.Is(err, fs.ErrNotExist) {
		_ = atomicfile.WriteFile(ignore, []byte("# moltctl's local state: ids, digests and credentials. Never commit it.\n*\n"), 0o644)
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) statePath() string { return filepath.Join(s.Dir, "state.json") }

// ErrCorrupt means the state file exists but cannot be trusted; callers
// rebuild it from what Cloudflare holds.
var ErrCorrupt = errors.New("state file is corrupt")

// envelope wraps the state with a checksum so truncation and hand edits
// that break it are detected rather than trusted.
type envelope struct {
	Checksum string          `json:"checksum"`
	State    json.RawMessage `json:"state"`
}

// Load returns the saved deployment, a zero one (and no error) when there is
// none yet, or an error wrapping ErrCorrupt when the file cannot be trusted.
func (s *Store) Load() (*Deployment, error) {
	b, err := os.ReadFile(s.statePath())
	if errors.Is(err, fs.ErrNotExist) {
		return &Deployment{SchemaVersion: SchemaVersion, Secrets: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Checksum != checksum(env.State) {
		return nil, fmt.Errorf("%s: %w", s.statePath(), ErrCorrupt)
	}
	var d Deployment
	if err := json.Unmarshal(env.State, &d); err != nil || d.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%s: %w", s.statePath(), ErrCorrupt)
	}
	if d.Secrets == nil {
		d.Secrets = map[string]string{}
	}
	return &d, nil
}

// Save writes d atomically (temporary file, fsync, rename) with mode 0600.
func (s *Store) Save(d *Deployment) error {
	d.SchemaVersion = SchemaVersion
	raw, err := json.MarshalIndent(d, "  ", "  ")
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(envelope{Checksum: checksum(raw), State: raw}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.statePath(), append(b, '\n'), 0o600)
}

func checksum(b []byte) string {
	var compact = make([]byte, 0, len(b))
	// The checksum is over the compact form so re-indentation does not matter.
	if c, err := compactJSON(b); err == nil {
		compact = c
	}
	sum := sha256.Sum256(compact)
	return hex.EncodeToString(sum[:])
}

func compactJSON(b []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Credentials are values moltctl must keep to operate the assistant. They
// are written only to credentials.json (0600), never to state or output.
type Credentials struct {
	// ServiceTokenClientSecret authenticates moltctl's admin calls through Access.
	ServiceTokenClientSecret string `json:"service_token_client_secret,omitempty"`
	// Generated holds secrets moltctl generated (e.g. MOLTBOT_GATEWAY_TOKEN), by name.
	Generated map[string]string `json:"generated,omitempty"`
}

func (s *Store) credentialsPath() string { return filepath.Join(s.Dir, "credentials.json") }

// CredentialsPath is where credentials are kept, for telling the user.
func (s *Store) CredentialsPath() string { return s.credentialsPath() }

// LoadCredentials returns the saved credentials, empty when there are none.
func (s *Store) LoadCredentials() (*Credentials, error) {
	c := &Credentials{Generated: map[string]string{}}
	b, err := os.ReadFile(s.credentialsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, c); err != nil {
		// Never echo the file: it holds credentials.
		return nil, fmt.Errorf("%s: %w", s.credentialsPath(), ErrCorrupt)
	}
	if c.Generated == nil {
		c.Generated = map[string]string{}
	}
	return c, nil
}

// SaveCredentials writes c atomically with mode 0600.
func (s *Store) SaveCredentials(c *Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.credentialsPath(), append(b, '\n'), 0o600)
}

// HMACKey returns the local key used to digest secret values (created on
// first use, 32 random bytes, mode 0600). Digests let moltctl tell whether a
// value changed without ever storing it.
func (s *Store) HMACKey() ([]byte, error) {
	p := s.hmacKeyPath()
	b, err := os.ReadFile(p)
	if err == nil && len(b) == 64 {
		return hex.DecodeString(string(b))
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(p, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

func (s *Store) hmacKeyPath() string { return filepath.Join(filepath.Dir(s.Dir), "hmac.key") }

// SetHMACKey replaces the digest key, when the account holds the one every
// checkout shares.
func (s *Store) SetHMACKey(key []byte) error {
	if len(key) != 32 {
		return errors.New("state: digest key must be 32 bytes")
	}
	return atomicfile.WriteFile(s.hmacKeyPath(), []byte(hex.EncodeToString(key)), 0o600)
}

// IgnoreInGit makes git ignore the file at path, a file of secret values
// inside a project: it adds "/<name>" to the .gitignore of path's
// directory unless a line there already names it. It reports whether it
// added the line.
func IgnoreInGit(path string) (bool, error) {
	dir, name := filepath.Split(path)
	ignore := filepath.Join(dir, ".gitignore")
	b, err := os.ReadFile(ignore)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == name || l == "/"+name {
			return false, nil
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	b = append(b, "# secret values written by moltctl secrets import\n/"+name+"\n"...)
	return true, atomicfile.WriteFile(ignore, b, 0o644)
}
