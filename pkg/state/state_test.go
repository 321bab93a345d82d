package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/wrangler"
)

func TestSaveLoadRoundTripAndMode(t *testing.T) {
	t.Parallel()
	st, err := Open(t.TempDir(), "moltbot-sandbox")
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.Load()
	if err != nil || d.WorkerName != "" {
		t.Fatalf("empty load = %+v, %v", d, err)
	}
	d.WorkerName = "moltbot-sandbox"
	d.Access.AUD = "aud"
	d.Secrets["ANTHROPIC_API_KEY"] = "digest"
	if err := st.Save(d); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(st.Dir, "state.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v", info.Mode(), err)
	}
	got, err := st.Load()
	if err != nil || got.Access.AUD != "aud" || got.Secrets["ANTHROPIC_API_KEY"] != "digest" {
		t.Fatalf("load = %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(st.Dir), ".gitignore")); err != nil {
		t.Errorf(".gitignore missing: %v", err)
	}
}

func TestLoadDetectsCorruption(t *testing.T) {
	t.Parallel()
	// Each case corrupts its own store, so the cases can run at once.
	saved := func(t *testing.T) (*Store, string) {
		st, _ := Open(t.TempDir(), "w")
		if err := st.Save(&Deployment{WorkerName: "w"}); err != nil {
			t.Fatal(err)
		}
		return st, filepath.Join(st.Dir, "state.json")
	}
	_, p := saved(t)
	b, _ := os.ReadFile(p)
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)/2],
		"edited":    []byte(`{"checksum":"00","state":{"worker_name":"x","schema_version":1}}`),
		"garbage":   []byte("not json"),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, p := saved(t)
			os.WriteFile(p, bad, 0o600)
			if _, err := st.Load(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestCredentialsAndKeyArePrivate(t *testing.T) {
	t.Parallel()
	st, _ := Open(t.TempDir(), "w")
	if err := st.SaveCredentials(&Credentials{ServiceTokenClientSecret: "s", Generated: map[string]string{"A": "b"}}); err != nil {
		t.Fatal(err)
	}
	c, err := st.LoadCredentials()
	if err != nil || c.Generated["A"] != "b" {
		t.Fatalf("creds = %+v, %v", c, err)
	}
	k1, err := st.HMACKey()
	if err != nil || len(k1) != 32 {
		t.Fatalf("key = %x, %v", k1, err)
	}
	k2, _ := st.HMACKey()
	if string(k1) != string(k2) {
		t.Error("HMAC key changed between calls")
	}
	for _, p := range []string{st.CredentialsPath(), filepath.Join(filepath.Dir(st.Dir), "hmac.key")} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, %v", p, info.Mode(), err)
		}
	}
}

func TestLockExcludesSecondHolder(t *testing.T) {
	t.Parallel()
	st, _ := Open(t.TempDir(), "w")
	unlock, err := st.Lock(context.Background(), "moltctl deploy", false)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks are per open file description, so a second Store in the
	// same process contends like a second process would.
	other := &Store{Dir: st.Dir}
	_, err = other.Lock(context.Background(), "moltctl deploy", false)
	var locked *LockedError
	if !errors.As(err, &locked) || locked.Holder == nil || locked.Holder.Command != "moltctl deploy" {
		t.Fatalf("second lock err = %v", err)
	}
	unlock()
	unlock2, err := other.Lock(context.Background(), "moltctl deploy", false)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}

// TestOpenStaysUnderStateDir proves that no Worker name, however hostile,
// makes the store (or any file it writes) leave .moltctl/.
func TestOpenStaysUnderStateDir(t *testing.T) {
	t.Parallel()
	project := t.TempDir()
	root := filepath.Join(project, DirName) + string(filepath.Separator)
	for _, name := range []string{
		"..", ".", "../../x", "../x", "a/../../b", "/etc", "a/b", `a\b`, "a b", "a?b#c", "x\x00y", "~",
		"..\\..\\x", "%2e%2e", "-x", "x-", "UPPER", strings.Repeat("a", 64), "moltbot-sandbox", "a", "my_worker",
	} {
		s, err := Open(project, name)
		if err != nil {
			continue
		}
		for _, p := range []string{s.Dir, s.statePath(), s.credentialsPath(), s.leasePath(), filepath.Join(filepath.Dir(s.Dir), "hmac.key")} {
			if !strings.HasPrefix(filepath.Clean(p), root) {
				t.Errorf("name %q: %s is outside %s", name, p, root)
			}
		}
	}
	// Nothing was created beside .moltctl.
	entries, _ := os.ReadDir(project)
	if len(entries) != 1 || entries[0].Name() != DirName {
		t.Fatalf("project holds %v", entries)
	}
	for _, bad := range []string{"..", "../../x", "a b"} {
		if _, err := Open(project, bad); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
}

// FuzzWorkerName: any name Open accepts keeps every state file under .moltctl/.
func FuzzWorkerName(f *testing.F) {
	for _, s := range []string{"moltbot-sandbox", "..", "../../x", "a/b", "a b", "x?y#z", strings.Repeat("a", 63), "_", "-"} {
		f.Add(s)
	}
	project := f.TempDir()
	root := filepath.Join(project, DirName) + string(filepath.Separator)
	f.Fuzz(func(t *testing.T, name string) {
		if !wrangler.ValidWorkerName(name) {
			return // refused by Open before any path is built (TestOpenStaysUnderStateDir)
		}
		dir := filepath.Clean(filepath.Join(project, DirName, name))
		if !strings.HasPrefix(dir, root) || filepath.Dir(dir)+string(filepath.Separator) != root {
			t.Fatalf("valid name %q gives %s", name, dir)
		}
		if strings.ContainsAny(name, "/?#%. \\") {
			t.Fatalf("valid name %q has a character unsafe in a path or URL", name)
		}
	})
}
