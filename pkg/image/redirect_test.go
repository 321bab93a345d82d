package image

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/safehttp"
)

// TestRegistryRedirectToAnotherPort: the registry client follows no
// redirect to another port or host; the other server gets nothing (no
// login, no layer).
func TestRegistryRedirectToAnotherPort(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		t.Errorf("other server got %s %s auth=%q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
	}))
	defer other.Close()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	_, err := RemoteDigest(context.Background(), host+"/acc/app:tag", Auth{Username: "u", Password: "registry-password"}, nil)
	if !errors.Is(err, safehttp.ErrRedirect) {
		t.Errorf("err = %v, want a refused redirect", err)
	}
	if err != nil && strings.Contains(err.Error(), "registry-password") {
		t.Errorf("error shows the password: %v", err)
	}
	checker, err := newBlobChecker(context.Background(), mustRepo(t, host+"/acc/app"), Auth{Username: "u", Password: "registry-password"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checker.has(context.Background(), mustHash(t)); !errors.Is(err, safehttp.ErrRedirect) {
		t.Errorf("blob check: err = %v, want a refused redirect", err)
	}
	if hits.Load() != 0 {
		t.Errorf("other server got %d requests", hits.Load())
	}
}

// TestRegistryPlainHTTPRefused: the registry client would speak plain
// http to a private-network registry; moltctl refuses before
// any connection (these addresses are never dialled).
func TestRegistryPlainHTTPRefused(t *testing.T) {
	t.Parallel()
	for _, host := range []string{"10.9.8.7:5000", "192.168.1.1", "172.16.0.1:443"} {
		_, err := RemoteDigest(context.Background(), host+"/acc/app:tag", Auth{Username: "u", Password: "p"}, nil)
		var ie *safehttp.InsecureError
		if !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want an InsecureError", host, err)
		}
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustHash(t *testing.T) v1.Hash {
	t.Helper()
	h, err := v1.NewHash("sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSilentRegistryIsBounded: a registry that accepts connections and
// never answers fails the tag lookup within registryCallTimeout.
// Not parallel: it shortens registryCallTimeout, which every registry call
// in the package reads.
func TestSilentRegistryIsBounded(t *testing.T) {
	addr := testenv.SilentServer(t)
	old := registryCallTimeout
	registryCallTimeout = 200 * time.Millisecond
	defer func() { registryCallTimeout = old }()
	start := time.Now()
	_, err := RemoteDigest(context.Background(), addr+"/acc/app:tag", Auth{}, nil)
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %s", err, time.Since(start))
	}
}
