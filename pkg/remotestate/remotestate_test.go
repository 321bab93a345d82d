package remotestate

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/state"
)

// fakeR2 keeps objects in memory, like the account's R2.
type fakeR2 struct {
	buckets  map[string]map[string][]byte
	disabled bool
	puts     int
}

func (f *fakeR2) err(status, code int) error {
	return &cfapi.APIError{StatusCode: status, Errors: []cfapi.ErrorDetail{{Code: code}}}
}

func (f *fakeR2) CreateBucket(_ context.Context, name, _ string) (*cfapi.Bucket, error) {
	if f.buckets == nil {
		f.buckets = map[string]map[string][]byte{}
	}
	f.buckets[name] = map[string][]byte{}
	return &cfapi.Bucket{Name: name}, nil
}

func (f *fakeR2) PutObject(_ context.Context, bucket, key string, body []byte, _ string) error {
	if f.disabled {
		return f.err(http.StatusForbidden, 10042)
	}
	b, ok := f.buckets[bucket]
	if !ok {
		return f.err(http.StatusNotFound, 10006)
	}
	f.puts++
	b[key] = append([]byte(nil), body...)
	return nil
}

func (f *fakeR2) GetObject(_ context.Context, bucket, key string) ([]byte, error) {
	if f.disabled {
		return nil, f.err(http.StatusForbidden, 10042)
	}
	o, ok := f.buckets[bucket][key]
	if !ok {
		return nil, f.err(http.StatusNotFound, 10007)
	}
	return o, nil
}

func (f *fakeR2) DeleteObject(_ context.Context, bucket, key string) error {
	delete(f.buckets[bucket], key)
	return nil
}

func env(dir string) func(string) string {
	return func(k string) string {
		if k == "MOLTCTL_CONFIG_DIR" {
			return dir
		}
		return ""
	}
}

func keeper(t *testing.T, api API, getenv func(string) string, warn *[]string) *Keeper {
	t.Helper()
	store, err := state.Open(t.TempDir(), "w")
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKeeper(api, store, "w", getenv, func(s string) { *warn = append(*warn, s) })
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealedInTheAccountOpenOnlyWithTheKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := &fakeR2{}
	keyDir := t.TempDir()
	var warns []string
	a := keeper(t, api, env(keyDir), &warns)
	dep, creds, err := a.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dep.URL = "https://w.example.workers.dev"
	creds.ServiceTokenClientSecret = "service-secret-value"
	creds.Generated["MOLTBOT_GATEWAY_TOKEN"] = "gateway-token-value"
	if err := a.Save(ctx, dep, creds); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(keyDir, "age.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	obj := string(api.buckets[Bucket][ObjectKey("w")])
	if !strings.Contains(obj, dep.URL) || strings.Contains(obj, "service-secret-value") || strings.Contains(obj, "gateway-token-value") {
		t.Fatalf("object holds the state in clear and secrets sealed? %s", obj)
	}
	// An unchanged save writes nothing.
	puts := api.puts
	if err := a.Save(ctx, dep, creds); err != nil || api.puts != puts {
		t.Errorf("unchanged save: %v, %d puts", err, api.puts-puts)
	}

	// Another checkout with the key reads everything, the digest key too.
	b := keeper(t, api, env(keyDir), &warns)
	_, bc, err := b.Load(ctx)
	if err != nil || bc.ServiceTokenClientSecret != "service-secret-value" || string(b.DigestKey) != string(a.DigestKey) || b.Locked {
		t.Fatalf("second checkout: %v %+v locked=%v", err, bc, b.Locked)
	}

	// Without the key: locked, nothing readable, and saving keeps the sealed copy.
	warns = nil
	c := keeper(t, api, env(t.TempDir()), &warns)
	cdep, cc, err := c.Load(ctx)
	if err != nil || !c.Locked || cc.ServiceTokenClientSecret != "" || cdep.URL != dep.URL {
		t.Fatalf("no key: %v locked=%v", err, c.Locked)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "sealed to key age1") {
		t.Errorf("warnings = %q", warns)
	}
	cdep.Subdomain = "changed"
	if err := c.Save(ctx, cdep, cc); err != nil {
		t.Fatal(err)
	}
	_, bc, err = keeper(t, api, env(keyDir), &warns).Load(ctx)
	if err != nil || bc.Generated["MOLTBOT_GATEWAY_TOKEN"] != "gateway-token-value" {
		t.Fatalf("after a locked save the credentials are gone: %v", err)
	}

	// A wrong key in the environment is as good as none, and says so.
	warns = nil
	other, err := CreateKey(filepath.Join(t.TempDir(), "age.key"))
	if err != nil {
		t.Fatal(err)
	}
	d := keeper(t, api, func(k string) string {
		if k == EnvKey {
			return other.Identity.String()
		}
		return ""
	}, &warns)
	if _, _, err := d.Load(ctx); err != nil || !d.Locked || !strings.Contains(strings.Join(warns, ""), "another one") {
		t.Errorf("wrong key: %v locked=%v %q", err, d.Locked, warns)
	}
}

func TestWithoutR2TheStateStaysLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var warns []string
	k := keeper(t, &fakeR2{disabled: true}, env(t.TempDir()), &warns)
	dep, creds, err := k.Load(ctx)
	if err != nil || k.Remote {
		t.Fatalf("load: %v remote=%v", err, k.Remote)
	}
	dep.URL = "u"
	if err := k.Save(ctx, dep, creds); err != nil {
		t.Fatal(err)
	}
	if err := k.Save(ctx, dep, creds); err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "stays in .moltctl/") {
		t.Errorf("warnings = %q, want one", warns)
	}
	if got, _ := k.Local.Load(); got.URL != "u" {
		t.Error("the local cache was not written")
	}
}

func TestBadKeyInTheEnvironmentIsAnErrorWithoutTheValue(t *testing.T) {
	t.Parallel()
	_, err := LoadKey(func(k string) string {
		if k == EnvKey {
			return "AGE-SECRET-KEY-1NOTAKEYATALLsecretish"
		}
		return ""
	})
	if err == nil || strings.Contains(err.Error(), "secretish") {
		t.Errorf("err = %v", err)
	}
}

func TestUnreadableStateInTheAccountSaysWhatToDo(t *testing.T) {
	t.Parallel()
	api := &fakeR2{}
	_, _ = api.CreateBucket(context.Background(), Bucket, "")
	api.buckets[Bucket][ObjectKey("w")] = []byte(`{"schema_version": 99, "state": {}}`)
	var warns []string
	_, _, err := keeper(t, api, env(t.TempDir()), &warns).Load(context.Background())
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(clierr.HintOf(err), "delete the object") {
		t.Errorf("err = %v (hint %q)", err, clierr.HintOf(err))
	}
}
