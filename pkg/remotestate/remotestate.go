// Package remotestate keeps moltctl's deployment state in the Cloudflare
// account, so that every checkout and CI runner deploying the same Worker
// converges on the same ids, digests and credentials instead of making its
// own. It is one JSON object per Worker in moltctl's R2 bucket
// (moltctl-state): the state in clear (ids and digests, no secret), and the
// credentials moltctl generated sealed with age to the user's key, which
// never leaves the user's machines and CI secrets. .moltctl/ in the
// checkout is a cache of that object.
//
// An R2 object is replaced whole by a PUT, so every write is atomic; the
// deploy writes it only while it holds the deploy lease (pkg/lease).
package remotestate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/state"
)

// Bucket is moltctl's permanent R2 bucket, one per account.
const Bucket = "moltctl-state"

// ObjectKey is the object that holds worker's state.
func ObjectKey(worker string) string { return "workers/" + worker + ".json" }

// API is the part of the Cloudflare API the state uses.
type API interface {
	CreateBucket(ctx context.Context, name, location string) (*cfapi.Bucket, error)
	PutObject(ctx context.Context, bucket, key string, body []byte, contentType string) error
	GetObject(ctx context.Context, bucket, key string) ([]byte, error)
	DeleteObject(ctx context.Context, bucket, key string) error
}

// object is what the account holds for one Worker.
type object struct {
	SchemaVersion int             `json:"schema_version"`
	State         json.RawMessage `json:"state"`
	// Recipient is the public key the credentials are sealed to.
	Recipient string `json:"recipient,omitempty"`
	// Credentials is the age-armored sealed form of sealed.
	Credentials string `json:"credentials,omitempty"`
}

// sealed is the plaintext of object.Credentials.
type sealed struct {
	state.Credentials
	// DigestKey (hex) keys the digests of secret values in the state; every
	// checkout needs the same one to tell that nothing changed.
	DigestKey string `json:"digest_key"`
}

// Keeper loads and saves one Worker's state: from and to the account when
// it can, always to the local cache.
type Keeper struct {
	// API is nil when there is no API token: the state is local only.
	API    API
	Local  *state.Store
	Worker string
	// Key opens the credentials; nil without one.
	Key *Key
	// NewKeyPath is where a key is created on the first write of
	// credentials when there is none ("" never creates one).
	NewKeyPath string
	// Warn receives each warning once (may be nil).
	Warn func(string)
	// OnCI says the machine is a CI runner ($CI), whose files are gone after the run.
	OnCI bool

	// DigestKey keys the digests of secret values (after Load).
	DigestKey []byte
	// Remote reports that the account holds (or will hold) the state.
	Remote bool
	// Locked reports that the account holds credentials this machine
	// cannot read (no key, or another key): it must not replace them.
	Locked bool

	lockedRecipient, lockedBlob string
	lastPlain, lastBlob         []byte
	lastObject                  []byte
	warned                      map[string]bool
}

func (k *Keeper) warn(msg string) {
	if k.warned == nil {
		k.warned = map[string]bool{}
	}
	if k.Warn != nil && !k.warned[msg] {
		k.warned[msg] = true
		k.Warn(msg)
	}
}

// Unavailable reports an error that says the account cannot keep objects
// (R2 not enabled, or the token may not use it): the state stays local.
func Unavailable(err error) bool {
	return cfapi.HasCode(err, 10042) || cfapi.HasCode(err, cfapi.CodeAuthError) || cfapi.IsStatus(err, http.StatusForbidden)
}

const localOnly = "the deploy state stays in .moltctl/ of this checkout only (R2 is not enabled or the API token may not use it): another checkout or a CI runner cannot see it and would replace the credentials"

// Load returns the Worker's deployment state and credentials: the
// account's when it holds them, else the local cache's (which the next
// Save moves into the account). Credentials are empty when Locked.
func (k *Keeper) Load(ctx context.Context) (*state.Deployment, *state.Credentials, error) {
	dep, err := k.Local.Load()
	if errors.Is(err, state.ErrCorrupt) {
		k.warn("the deploy state in " + k.Local.Dir + " is damaged; rebuilding it from what Cloudflare holds")
		dep = &state.Deployment{SchemaVersion: state.SchemaVersion, Secrets: map[string]string{}}
	} else if err != nil {
		return nil, nil, fmt.Errorf("read deploy state: %w", err)
	}
	creds, err := k.Local.LoadCredentials()
	if errors.Is(err, state.ErrCorrupt) {
		k.warn("the credentials file in " + k.Local.Dir + " is damaged; moltctl will replace the service token and R2 token it held")
		creds = &state.Credentials{Generated: map[string]string{}}
	} else if err != nil {
		return nil, nil, fmt.Errorf("read credentials: %w", err)
	}
	if k.DigestKey, err = k.Local.HMACKey(); err != nil {
		return nil, nil, fmt.Errorf("read the digest key: %w", err)
	}
	if k.API == nil {
		return dep, creds, nil
	}

	b, err := k.API.GetObject(ctx, Bucket, ObjectKey(k.Worker))
	switch {
	case cfapi.NotFound(err):
		// Nothing in the account yet: the local state (if any) moves there
		// on the next write.
		k.Remote = true
		return dep, creds, nil
	case Unavailable(err):
		k.warn(localOnly)
		return dep, creds, nil
	case err != nil:
		return nil, nil, fmt.Errorf("read the deploy state (R2 bucket %s): %w", Bucket, err)
	}
	k.Remote = true
	k.lastObject = b
	var obj object
	var rdep state.Deployment
	if json.Unmarshal(b, &obj) != nil || obj.SchemaVersion != state.SchemaVersion || json.Unmarshal(obj.State, &rdep) != nil {
		return nil, nil, clierr.WithHint(fmt.Errorf("the deploy state in the account (R2 bucket %s, object %s) cannot be read: %w",
			Bucket, ObjectKey(k.Worker), state.ErrCorrupt),
			"a newer moltctl may have written it: upgrade; else delete the object and deploy, which rebuilds it (docs/state.md)")
	}
	if rdep.Secrets == nil {
		rdep.Secrets = map[string]string{}
	}
	dep = &rdep
	if err := k.Local.Save(dep); err != nil {
		return nil, nil, err
	}
	if obj.Credentials == "" {
		// Written from a machine that had no key: the credentials, if any,
		// are where they were made.
		return dep, creds, nil
	}
	s, err := k.open(obj)
	if err != nil {
		k.Locked = true
		k.lockedRecipient, k.lockedBlob = obj.Recipient, obj.Credentials
		k.DigestKey = nil
		k.warn(err.Error())
		return dep, &state.Credentials{Generated: map[string]string{}}, nil
	}
	creds = &s.Credentials
	if creds.Generated == nil {
		creds.Generated = map[string]string{}
	}
	key, err := hex.DecodeString(s.DigestKey)
	if err != nil || len(key) != 32 {
		return nil, nil, fmt.Errorf("the credentials in the account hold no valid digest key: %w", state.ErrCorrupt)
	}
	k.DigestKey = key
	if err := k.Local.SaveCredentials(creds); err != nil {
		return nil, nil, err
	}
	if err := k.Local.SetHMACKey(key); err != nil {
		return nil, nil, err
	}
	return dep, creds, nil
}

// LockedError says why credentials in the account cannot be read here.
type LockedError struct {
	Recipient string
	Have      string // the recipient of the key this machine has, "" if none
	Reason    string
}

func (e *LockedError) Error() string {
	return "the credentials moltctl keeps in the account are sealed to key " + e.Recipient + "; " + e.Reason +
		": moltctl leaves every credential as it is (nothing is rotated), and `moltctl open`, `status` and `devices` need that key"
}

// Hint says how to get the key.
func (e *LockedError) Hint() string {
	return "copy the key file from the machine that deployed first, or set $" + EnvKey + " (moltctl ci setup prints it there)"
}

func (k *Keeper) open(obj object) (*sealed, error) {
	if k.Key == nil {
		return nil, &LockedError{Recipient: obj.Recipient, Reason: "this machine has no key ($" + EnvKey + " or the key file)"}
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(obj.Credentials)), k.Key.Identity)
	if err != nil {
		return nil, &LockedError{Recipient: obj.Recipient, Have: k.Key.Recipient(),
			Reason: "the key in " + k.Key.Source + " is " + k.Key.Recipient() + ", another one"}
	}
	plain, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read the credentials in the account: %w", err)
	}
	var s sealed
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("the credentials in the account cannot be read: %w", state.ErrCorrupt)
	}
	k.lastPlain, k.lastBlob = plain, []byte(obj.Credentials)
	return &s, nil
}

// Missing reports, after Load, that the account is to keep the state but
// holds no copy of it yet (a checkout that kept it only locally, or a
// first deploy): the next Save writes it there.
func (k *Keeper) Missing() bool { return k.Remote && k.API != nil && k.lastObject == nil }

// Save writes the state and credentials to the local cache and, when the
// account keeps them, to the account: only when they changed, and even
// after ctx was cancelled (an interrupted deploy must not lose an id). The
// two writes go on together: neither needs the other.
func (k *Keeper) Save(ctx context.Context, dep *state.Deployment, creds *state.Credentials) error {
	dep.SchemaVersion = state.SchemaVersion
	var put chan error
	var oerr error
	if k.Remote && k.API != nil {
		var b []byte
		if b, oerr = k.object(dep, creds); oerr == nil && !bytes.Equal(b, k.lastObject) {
			put = make(chan error, 1)
			go func() { put <- k.put(ctx, b) }()
		}
	}
	lerr := k.Local.Save(dep)
	if lerr == nil && !k.Locked {
		lerr = k.Local.SaveCredentials(creds)
	}
	var perr error
	if put != nil {
		perr = <-put
	}
	return cmp.Or(lerr, oerr, perr)
}

// object is what the account holds for dep and creds, as it is written.
func (k *Keeper) object(dep *state.Deployment, creds *state.Credentials) ([]byte, error) {
	raw, err := json.Marshal(dep)
	if err != nil {
		return nil, err
	}
	obj := object{SchemaVersion: state.SchemaVersion, State: raw}
	if err := k.seal(&obj, creds); err != nil {
		return nil, err
	}
	return json.MarshalIndent(obj, "", "  ")
}

// put writes the object b to the account.
func (k *Keeper) put(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := k.API.PutObject(wctx, Bucket, ObjectKey(k.Worker), b, "application/json")
	if cfapi.NotFound(err) {
		// The first write in this account: make moltctl's bucket.
		if _, cerr := k.API.CreateBucket(wctx, Bucket, ""); cerr != nil && !cfapi.HasCode(cerr, 10004) && !cfapi.IsStatus(cerr, http.StatusConflict) {
			err = cerr
		} else {
			err = k.API.PutObject(wctx, Bucket, ObjectKey(k.Worker), b, "application/json")
		}
	}
	if Unavailable(err) {
		k.Remote = false
		k.warn(localOnly)
		return nil
	}
	if err != nil {
		return fmt.Errorf("write the deploy state (R2 bucket %s): %w", Bucket, err)
	}
	k.lastObject = b
	return nil
}

// seal puts the credentials into obj, sealed to the key; re-using the
// last ciphertext when they did not change, so an unchanged state is not
// written again.
func (k *Keeper) seal(obj *object, creds *state.Credentials) error {
	if k.Locked {
		obj.Recipient, obj.Credentials = k.lockedRecipient, k.lockedBlob
		return nil
	}
	if creds.ServiceTokenClientSecret == "" && len(creds.Generated) == 0 && k.lastBlob == nil {
		return nil
	}
	if k.Key == nil {
		if k.NewKeyPath == "" {
			k.warn("no key to seal moltctl's credentials (set $" + EnvKey + " or HOME): they stay in .moltctl/ of this checkout, and another checkout would replace them")
			return nil
		}
		key, err := CreateKey(k.NewKeyPath)
		if err != nil {
			return err
		}
		k.Key = key
		msg := "created " + key.Source + ", the key that seals the credentials moltctl keeps in the account: keep it (back it up), copy it to your other machines; `moltctl ci setup` prints it for CI"
		if k.OnCI {
			msg = "created " + key.Source + " to seal the credentials moltctl keeps in the account, on a CI runner that forgets it: nothing is rotated later, but nobody can read them; run `moltctl ci setup` on your machine and follow docs/state.md (when the key is lost)"
		}
		k.warn(msg)
	}
	plain, err := json.Marshal(sealed{Credentials: *creds, DigestKey: hex.EncodeToString(k.DigestKey)})
	if err != nil {
		return err
	}
	if !bytes.Equal(plain, k.lastPlain) {
		var out bytes.Buffer
		aw := armor.NewWriter(&out)
		w, err := age.Encrypt(aw, k.Key.Identity.Recipient())
		if err != nil {
			return err
		}
		if _, err := w.Write(plain); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := aw.Close(); err != nil {
			return err
		}
		k.lastPlain, k.lastBlob = plain, out.Bytes()
	}
	obj.Recipient, obj.Credentials = k.Key.Recipient(), string(k.lastBlob)
	return nil
}

// Delete removes the Worker's state from the account (destroy).
func (k *Keeper) Delete(ctx context.Context) error {
	if k.API == nil || !k.Remote {
		return nil
	}
	err := k.API.DeleteObject(ctx, Bucket, ObjectKey(k.Worker))
	if err != nil && !cfapi.NotFound(err) && !Unavailable(err) {
		return fmt.Errorf("delete the deploy state (R2 bucket %s): %w", Bucket, err)
	}
	return nil
}

// NewKeeper returns the keeper of worker's state with the user's key from
// getenv ($MOLTCTL_AGE_KEY or the key file); api may be nil (no token).
func NewKeeper(api API, local *state.Store, worker string, getenv func(string) string, warn func(string)) (*Keeper, error) {
	k := &Keeper{API: api, Local: local, Worker: worker, Warn: warn, NewKeyPath: KeyPath(getenv), OnCI: getenv("CI") != ""}
	key, err := LoadKey(getenv)
	switch {
	case errors.Is(err, ErrNoKey):
	case err != nil:
		return nil, err
	default:
		k.Key = key
	}
	return k, nil
}
