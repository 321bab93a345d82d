package image

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// testRegistry is go-containerregistry's registry behind Basic auth, counting upload bytes.
type testRegistry struct {
	srv *httptest.Server
	// failUploads is how many blob upload requests still get a 503.
	failUploads atomic.Int32
	uploaded    atomic.Int64
	user        string
	pass        string
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	r := &testRegistry{user: "v1", pass: "secret-" + nonce()}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		if (req.Method == http.MethodPatch || req.Method == http.MethodPut) && strings.Contains(req.URL.Path, "/blobs/uploads/") && r.failUploads.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if req.Method == http.MethodPatch || (req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/blobs/")) || req.Method == http.MethodPost {
			req.Body = &countingBody{rc: req.Body, n: &r.uploaded}
		}
		inner.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *testRegistry) host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

type countingBody struct {
	rc interface {
		Read([]byte) (int, error)
		Close() error
	}
	n *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}
func (c *countingBody) Close() error { return c.rc.Close() }

func randomText(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func nonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func docker(t testing.TB) *client.Client {
	t.Helper()
	testenv.RequireDocker(t)
	c, err := dockerhost.Connect(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// removeImages deletes what the test built.
func removeImages(t testing.TB, c *client.Client, refs ...string) {
	t.Cleanup(func() {
		for _, r := range refs {
			_, _ = c.ImageRemove(context.Background(), r, dimage.RemoveOptions{Force: true, PruneChildren: true})
		}
	})
}

// recorder keeps the events of one run.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) progress() Progress {
	return func(e Event) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }
}

func (r *recorder) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// smallApp is a FROM scratch image with two COPY layers.
func smallApp(t testing.TB) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile":    "FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\nEXPOSE 18789\n",
		".dockerignore": "ignored.txt\n",
		"a.txt":         randomText(64 << 10),
		"b.txt":         "b " + nonce(),
		"ignored.txt":   "x",
	})
	return dir
}

func TestBuildAndPush(t *testing.T) {
	t.Parallel()
	c := docker(t)
	reg := newTestRegistry(t)
	dir := smallApp(t)
	repo := Repository(reg.host(), "acc", "app-sandbox")
	ctx := context.Background()
	run := func(t *testing.T) (*Result, *recorder) {
		t.Helper()
		rec := &recorder{}
		res, err := BuildAndPush(ctx, c, Request{Spec: Spec{ContextDir: dir, Dockerfile: "Dockerfile"}, Repository: repo,
			Auth: Auth{Username: reg.user, Password: reg.pass}, Progress: rec.progress(), Checks: CheckOptions{InstanceType: "lite"}})
		if err != nil {
			t.Fatalf("BuildAndPush: %v", err)
		}
		removeImages(t, c, res.Ref, LocalRef(res.Tag))
		return res, rec
	}

	first, rec := run(t)
	if first.Skipped || !first.Built || first.LayersPushed != 2 || first.BytesPushed <= 64<<10/100 || first.Digest == "" {
		t.Fatalf("first run: %+v", first)
	}
	if rec.count(EventBuildStep) < 4 || rec.count(EventLayerDone) != 2 {
		t.Errorf("first run events: %d steps, %d layers done", rec.count(EventBuildStep), rec.count(EventLayerDone))
	}
	if d, err := RemoteDigest(ctx, first.Ref, Auth{reg.user, reg.pass}, nil); err != nil || d != first.Digest {
		t.Fatalf("registry has %q (%v), pushed %q", d, err, first.Digest)
	}
	if len(first.Warnings) != 0 {
		t.Errorf("warnings: %v", first.Warnings)
	}

	// Unchanged: no build, nothing sent.
	before := reg.uploaded.Load()
	again, rec := run(t)
	if !again.Skipped || again.Built || again.BytesPushed != 0 || again.Tag != first.Tag || again.Digest != first.Digest {
		t.Fatalf("re-run: %+v", again)
	}
	if rec.count(EventBuildStep) != 0 || reg.uploaded.Load() != before {
		t.Errorf("re-run built %d steps, uploaded %d bytes", rec.count(EventBuildStep), reg.uploaded.Load()-before)
	}

	// A change to an ignored file changes nothing.
	writeTree(t, dir, map[string]string{"ignored.txt": "changed"})
	ign, _ := run(t)
	if !ign.Skipped || ign.Tag != first.Tag {
		t.Fatalf("ignored change: %+v", ign)
	}

	// One changed file: one layer sent, the other is already there.
	writeTree(t, dir, map[string]string{"b.txt": "b changed " + nonce()})
	before = reg.uploaded.Load()
	changed, _ := run(t)
	if changed.Skipped || changed.Tag == first.Tag || changed.LayersPushed != 1 || changed.LayersSkipped != 1 {
		t.Fatalf("one file changed: %+v", changed)
	}
	if changed.BytesPushed >= first.BytesPushed/2 {
		t.Errorf("one small file changed but %d of %d bytes pushed", changed.BytesPushed, first.BytesPushed)
	}
	if sent := reg.uploaded.Load() - before; sent > changed.BytesPushed+4096 {
		t.Errorf("registry received %d bytes, reported %d", sent, changed.BytesPushed)
	}
}

func TestBuildThenPushSeparately(t *testing.T) {
	t.Parallel()
	c := docker(t)
	reg := newTestRegistry(t)
	dir := smallApp(t)
	ctx := context.Background()
	spec := Spec{ContextDir: dir, Dockerfile: "Dockerfile"}
	br, err := Build(ctx, c, BuildRequest{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	removeImages(t, c, LocalRef(br.Tag))
	if br.Cached || br.ImageID == "" {
		t.Fatalf("build: %+v", br)
	}
	// Build again: the local image is reused.
	if br2, err := Build(ctx, c, BuildRequest{Spec: spec}); err != nil || !br2.Cached {
		t.Fatalf("second build: %+v %v", br2, err)
	}
	rec := &recorder{}
	res, err := BuildAndPush(ctx, c, Request{Spec: spec, Repository: Repository(reg.host(), "acc", "app"),
		Auth: Auth{reg.user, reg.pass}, Progress: rec.progress()})
	if err != nil {
		t.Fatal(err)
	}
	removeImages(t, c, res.Ref)
	if res.Built || res.Skipped || res.LayersPushed != 2 || rec.count(EventLocalHit) != 1 || rec.count(EventBuildStep) != 0 {
		t.Fatalf("push of the built image: %+v", res)
	}
}

func TestBuildFailure(t *testing.T) {
	t.Parallel()
	c := docker(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\nCOPY missing-" + nonce() + ".txt /m.txt\n",
		"a.txt":      "a",
	})
	_, err := Build(context.Background(), c, BuildRequest{Spec: Spec{ContextDir: dir, Dockerfile: "Dockerfile"}})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v, want *BuildError", err)
	}
	if !strings.Contains(be.Step, "Step 3/") || !strings.Contains(be.Step, ": COPY missing-") || !strings.Contains(err.Error(), "build failed at Step 3/") || be.Message == "" {
		t.Errorf("build error: step %q message %q", be.Step, be.Message)
	}
	if clierr.HintOf(err) == "" {
		t.Error("no hint")
	}
}

func TestPushUnauthorized(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	dir := smallApp(t)
	_, err := BuildAndPush(context.Background(), nil, Request{Spec: Spec{ContextDir: dir, Dockerfile: "Dockerfile"},
		Repository: Repository(reg.host(), "acc", "app"), Auth: Auth{Username: "v1", Password: "wrong"}})
	var ae *RegistryAuthError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want *RegistryAuthError 401", err)
	}
	if h := clierr.HintOf(err); !strings.Contains(h, "Workers Paid") || !strings.Contains(h, "Containers") {
		t.Errorf("hint %q", h)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Error("password in error text")
	}
}

func TestTargetDockerfileOutsideContext(t *testing.T) {
	t.Parallel()
	c := docker(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"ctx/a.txt": "a" + nonce(), "docker/Dockerfile": "FROM scratch\nCOPY a.txt /\n"})
	br, err := Build(context.Background(), c, BuildRequest{Spec: Spec{ContextDir: filepath.Join(dir, "ctx"), Dockerfile: filepath.Join(dir, "docker/Dockerfile")}})
	if err != nil {
		t.Fatal(err)
	}
	removeImages(t, c, LocalRef(br.Tag))
	if br.ImageID == "" {
		t.Fatal("no image id")
	}
}

func TestPushRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	c := docker(t)
	reg := newTestRegistry(t)
	reg.failUploads.Store(3)
	dir := smallApp(t)
	res, err := BuildAndPush(context.Background(), c, Request{Spec: Spec{ContextDir: dir, Dockerfile: "Dockerfile"},
		Repository: Repository(reg.host(), "acc", "app"), Auth: Auth{reg.user, reg.pass}})
	if err != nil {
		t.Fatalf("push with transient 503s: %v", err)
	}
	removeImages(t, c, res.Ref, LocalRef(res.Tag))
	if reg.failUploads.Load() >= 0 || res.LayersPushed != 2 {
		t.Fatalf("failures left %d, result %+v", reg.failUploads.Load(), res)
	}
}
