package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveLoadRoundTripAndMode(t *testing.T) {
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
	st, _ := Open(t.TempDir(), "w")
	if err := st.Save(&Deployment{WorkerName: "w"}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(st.Dir, "state.json")
	b, _ := os.ReadFile(p)
	for name, bad := range map[string][]byte{
		"truncated": b[:len(b)/2],
		"edited":    []byte(`{"checksum":"00","state":{"worker_name":"x","schema_version":1}}`),
		"garbage":   []byte("not json"),
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(p, bad, 0o600)
			if _, err := st.Load(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestCredentialsAndKeyArePrivate(t *testing.T) {
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
