package deploy

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// extractTarball unpacks a `git archive` tarball into dir, keeping the
// archive's modification times (a fresh clone's are all recent; these are
// older, which the build decision must not depend on either way).
func extractTarball(t *testing.T, tarball, dir string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("tarball entry %q escapes the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777|0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
			_ = os.Chtimes(p, h.ModTime, h.ModTime)
		}
	}
}

// upstreamClone is cloudflare/moltworker as `git clone` leaves it, with its
// Dockerfile (which downloads Node and OpenClaw) replaced by an offline one
// and moltctl.yaml as `moltctl init --yes` writes it for the Anthropic key.
func upstreamClone(t *testing.T) string {
	t.Helper()
	tarball := testenv.UpstreamTarball(t)
	root := t.TempDir()
	extractTarball(t, tarball, root)
	dir := filepath.Join(root, "moltworker")
	write(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nCOPY start-openclaw.sh /usr/local/bin/start-openclaw.sh\nWORKDIR /root/clawd\nEXPOSE 18789\n")
	man, err := os.ReadFile(filepath.Join(testenv.CopyExample(t), "moltctl.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "moltctl.yaml"), string(man))
	return dir
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// uploaded returns the Worker's modules in the emulator: name → sha256,
// content type; and the script's etag.
func uploaded(srv *cfemu.Server, script string) (mods map[string][2]string, etag string) {
	mods = map[string][2]string{}
	srv.View(func(s *cfemu.State) {
		sc := s.Scripts[script]
		if sc == nil {
			return
		}
		etag = sc.Etag
		for _, m := range sc.Modules {
			mods[m.Name] = [2]string{m.SHA256, m.ContentType}
		}
	})
	return mods, etag
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestDeployUpstreamMoltworker deploys the real cloudflare/moltworker from
// a fresh clone: dependencies installed (npm ci refuses its lockfile, npm
// install repairs it), the Vite build run, the built JavaScript and its
// .html Text modules uploaded; then an edit of src/ is built and shipped,
// and staging is deployed beside production without touching it.
func TestDeployUpstreamMoltworker(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("installs and builds the real moltworker (about a minute)")
	}
	testenv.RequireDocker(t)
	testenv.RequireNPM(t)
	dir := upstreamClone(t)
	srv, _ := newEmulator(t, cfemu.FaultOptions{})
	ctx := context.Background()
	text := func(o *DeployOptions) { o.F.Global.Output = "" }

	// 1. A fresh clone: install, build, upload.
	r := deployOnce(ctx, t, srv, dir, nil, text)
	if r.err != nil {
		t.Fatalf("first deploy: %v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{"installing dependencies: npm ci (node_modules is missing)", "npm ci refused the lockfile", "Missing:", "building: npm run build"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	mods, etag1 := uploaded(srv, "moltbot-sandbox")
	if m, ok := mods["index.js"]; !ok || m[1] != "application/javascript+module" {
		t.Fatalf("modules = %v", mods)
	}
	var html, entry string
	for name, m := range mods {
		switch {
		case strings.HasSuffix(name, ".html"):
			html = name
			if m[1] != "text/plain" {
				t.Errorf("%s uploaded as %s, want text/plain (a Text rule)", name, m[1])
			}
		case strings.HasPrefix(name, "assets/worker-entry-"):
			entry = name
		}
	}
	if html == "" || entry == "" {
		t.Fatalf("no .html module or worker entry chunk among %v", mods)
	}
	if !gatewayRunning(srv) {
		t.Fatal("the assistant is not running after the first deploy")
	}

	// 2. Nothing changed: no build, nothing uploaded.
	r = deployOnce(ctx, t, srv, dir, nil, text)
	if r.err != nil {
		t.Fatalf("second deploy: %v\n%s", r.err, r.stderr)
	}
	if strings.Contains(r.stderr, "building:") || strings.Contains(r.stderr, "installing dependencies") {
		t.Errorf("an unchanged project was installed or built again:\n%s", r.stderr)
	}
	if _, etag := uploaded(srv, "moltbot-sandbox"); etag != etag1 {
		t.Error("an unchanged project uploaded the Worker again")
	}

	// 3. An edit of src/ with its old modification time (as a checkout
	// can leave it) is built and shipped.
	idx := filepath.Join(dir, "src", "index.ts")
	fi, _ := os.Stat(idx)
	src, _ := os.ReadFile(idx)
	const marker = "moltctl-upstream-edit-7f3a"
	write(t, idx, string(src)+"\nconsole.log('"+marker+"');\n")
	_ = os.Chtimes(idx, fi.ModTime(), fi.ModTime())
	r = deployOnce(ctx, t, srv, dir, nil, text)
	if r.err != nil {
		t.Fatalf("deploy after an edit: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "sources changed") || strings.Contains(r.stderr, "installing dependencies") {
		t.Errorf("the edit was not built as a source change (or dependencies were installed again):\n%s", r.stderr)
	}
	mods, _ = uploaded(srv, "moltbot-sandbox")
	found := false
	for name, m := range mods {
		if !strings.HasPrefix(name, "assets/worker-entry-") {
			continue
		}
		local := filepath.Join(dir, "dist", "moltbot_sandbox", filepath.FromSlash(name))
		b, _ := os.ReadFile(local)
		found = strings.Contains(string(b), marker) && fileSHA(t, local) == m[0]
	}
	if !found {
		t.Fatalf("the uploaded Worker is not the edited build: %v", mods)
	}

	// 4. Staging beside production: neither touches the other.
	cfgPath := filepath.Join(dir, "wrangler.jsonc")
	cfg, _ := os.ReadFile(cfgPath)
	s := strings.TrimRight(string(cfg), "\n ")
	s = s[:len(s)-1] + `  "env": { "staging": { "name": "moltbot-sandbox-staging",
    "containers": [{ "class_name": "Sandbox", "image": "./Dockerfile", "instance_type": "standard-1", "max_instances": 1 }],
    "durable_objects": { "bindings": [{ "class_name": "Sandbox", "name": "Sandbox" }] },
    "r2_buckets": [{ "binding": "MOLTBOT_BUCKET", "bucket_name": "moltbot-data-staging" }],
    "browser": { "binding": "BROWSER" } } }
}
`
	write(t, cfgPath, s)
	_, prodEtag := uploaded(srv, "moltbot-sandbox")
	staging := func(o *DeployOptions) { text(o); o.F.Global.Env = "staging" }
	r = deployOnce(ctx, t, srv, dir, nil, staging)
	if r.err != nil {
		t.Fatalf("deploy --env staging: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "CLOUDFLARE_ENV=staging") {
		t.Errorf("staging was not built with CLOUDFLARE_ENV:\n%s", r.stderr)
	}
	stgMods, stgEtag := uploaded(srv, "moltbot-sandbox-staging")
	if len(stgMods) == 0 {
		t.Fatal("no staging Worker")
	}
	if _, etag := uploaded(srv, "moltbot-sandbox"); etag != prodEtag {
		t.Error("deploying staging changed the production Worker")
	}
	srv.View(func(st *cfemu.State) {
		if _, ok := st.Buckets["moltbot-data-staging"]; !ok {
			t.Errorf("no staging bucket; buckets: %v", st.Buckets)
		}
		for _, b := range st.Scripts["moltbot-sandbox-staging"].Bindings {
			if b.Type == "r2_bucket" && b.BucketName != "moltbot-data-staging" {
				t.Errorf("staging is bound to bucket %q", b.BucketName)
			}
		}
	})
	// Production again: the output is staging's now, so it is rebuilt for
	// production, and staging stays as it was.
	r = deployOnce(ctx, t, srv, dir, nil, text)
	if r.err != nil {
		t.Fatalf("production after staging: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "building: npm run build") || strings.Contains(r.stderr, "CLOUDFLARE_ENV=") {
		t.Errorf("production was not rebuilt for production:\n%s", r.stderr)
	}
	if _, etag := uploaded(srv, "moltbot-sandbox-staging"); etag != stgEtag {
		t.Error("deploying production changed the staging Worker")
	}
	srv.View(func(st *cfemu.State) {
		for _, b := range st.Scripts["moltbot-sandbox"].Bindings {
			if b.Type == "r2_bucket" && b.BucketName != "moltbot-data" {
				t.Errorf("production is bound to bucket %q", b.BucketName)
			}
		}
	})
}

// A fresh clone has no moltctl.yaml: without a terminal, deploy changes
// nothing and names the init command that fits the environment.
func TestDeployWithoutManifestNamesInit(t *testing.T) {
	t.Parallel()
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	dir := testenv.CopyExample(t)
	if err := os.Remove(filepath.Join(dir, "moltctl.yaml")); err != nil {
		t.Fatal(err)
	}
	r := deployOnce(context.Background(), t, srv, dir, nil, nil)
	if r.code != 2 || r.err == nil {
		t.Fatalf("exit %d, err %v", r.code, r.err)
	}
	if hint := clierr.HintOf(r.err); !strings.Contains(hint, "moltctl init --yes --provider anthropic") {
		t.Errorf("hint = %q", hint)
	}
	if ch := log.ChangesSince(0); len(ch) > 0 {
		t.Errorf("a deploy without moltctl.yaml changed the account: %v", ch)
	}
}
