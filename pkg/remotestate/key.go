package remotestate

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/internal/atomicfile"
)

// EnvKey is the environment variable that carries the key on machines that
// keep no key file (CI runners): the AGE-SECRET-KEY-1… line.
const EnvKey = "MOLTCTL_AGE_KEY"

// Key is the user's age X25519 identity that seals moltctl's credentials.
type Key struct {
	Identity *age.X25519Identity
	// Source is where it came from: the file's path or "$MOLTCTL_AGE_KEY".
	Source string
}

// Recipient is the key's public half (age1…), safe to show.
func (k *Key) Recipient() string { return k.Identity.Recipient().String() }

// KeyPath is where the key file lives: $MOLTCTL_CONFIG_DIR/age.key, else
// $XDG_CONFIG_HOME/moltctl/age.key, else ~/.config/moltctl/age.key; ""
// when none of those variables is set.
func KeyPath(getenv func(string) string) string {
	switch {
	case getenv("MOLTCTL_CONFIG_DIR") != "":
		return filepath.Join(getenv("MOLTCTL_CONFIG_DIR"), "age.key")
	case getenv("XDG_CONFIG_HOME") != "":
		return filepath.Join(getenv("XDG_CONFIG_HOME"), "moltctl", "age.key")
	case getenv("HOME") != "":
		return filepath.Join(getenv("HOME"), ".config", "moltctl", "age.key")
	}
	return ""
}

// ErrNoKey means neither $MOLTCTL_AGE_KEY nor the key file is there.
var ErrNoKey = errors.New("no key to read moltctl's credentials")

// LoadKey returns the key from $MOLTCTL_AGE_KEY or the key file, or an
// error wrapping ErrNoKey. Errors never contain the key.
func LoadKey(getenv func(string) string) (*Key, error) {
	if v := strings.TrimSpace(getenv(EnvKey)); v != "" {
		id, err := age.ParseX25519Identity(v)
		if err != nil {
			// The value is a secret (or a mistyped one): never echo it.
			return nil, &clierr.UsageError{
				Err: fmt.Errorf("$%s is not an age key (AGE-SECRET-KEY-1…)", EnvKey),
				Fix: fmt.Sprintf("set $%s to the whole AGE-SECRET-KEY-1… line (the one `moltctl ci setup` printed, or the last line of the key file), or unset it to use the key file; if the key is lost, see docs/state.md, \"When the key is lost\"", EnvKey),
			}
		}
		return &Key{Identity: id, Source: "$" + EnvKey}, nil
	}
	p := KeyPath(getenv)
	if p == "" {
		return nil, fmt.Errorf("%w: $%s is not set and there is no home directory", ErrNoKey, EnvKey)
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: $%s is not set and %s does not exist", ErrNoKey, EnvKey, p)
	}
	if err != nil {
		return nil, fmt.Errorf("read the key %s: %w", p, err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil || len(ids) != 1 {
		return nil, fmt.Errorf("%s does not hold one age key (AGE-SECRET-KEY-1…)", p)
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return nil, fmt.Errorf("%s does not hold an X25519 age key", p)
	}
	return &Key{Identity: id, Source: p}, nil
}

// CreateKey makes a new key and writes it to path (0600, directory 0700),
// in the format age-keygen writes, so the age tools read it too.
func CreateKey(path string) (*Key, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	body := fmt.Sprintf("# moltctl's key: it decrypts the credentials moltctl keeps in the Cloudflare account.\n# public key: %s\n%s\n",
		id.Recipient(), id)
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s exists; not overwriting a key", path)
	}
	if err := atomicfile.WriteFile(path, []byte(body), 0o600); err != nil {
		return nil, fmt.Errorf("write the key %s: %w", path, err)
	}
	return &Key{Identity: id, Source: path}, nil
}
