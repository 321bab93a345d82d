package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// credentialFiles are where a moltworker checkout keeps credentials; the
// sentinel stands for their content.
func credentialFiles(sentinel string) map[string]string {
	return map[string]string{
		".moltctl/molt/credentials.json": `{"gateway_token":"` + sentinel + `"}`,
		".moltctl/secrets.env":           "KEY=" + sentinel + "\n",
		".git/config":                    "[remote \"origin\"]\n\turl = https://x:" + sentinel + "@example.com/r\n",
		".env":                           "KEY=" + sentinel + "\n",
		".env.production":                "KEY=" + sentinel + "\n",
		".dev.vars":                      "KEY=" + sentinel + "\n",
		"sub/.dev.vars.staging":          "KEY=" + sentinel + "\n",
		"sub/.git/HEAD":                  sentinel,
		"keys/values.env":                "KEY=" + sentinel + "\n",
		"moltctl.yaml":                   "secrets:\n  KEY: {dotenv: keys/values.env}\n",
	}
}

// TestReadContextProtected: credentials stay out of the context even when
// .dockerignore re-includes them, and the manifest's values files too.
func TestReadContextProtected(t *testing.T) {
	t.Parallel()
	const sentinel = "sentinel-credential-value"
	dir := t.TempDir()
	files := credentialFiles(sentinel)
	files["Dockerfile"] = "FROM scratch\nCOPY . /\n"
	files[".dockerignore"] = "!.moltctl\n!.env\n!.git\n!**/.dev.vars*\n"
	files["app.js"] = "ok\n"
	writeTree(t, dir, files)
	bc, err := readContext(Spec{ContextDir: dir, Dockerfile: "Dockerfile", Exclude: SecretFiles(dir)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range bc.entries {
		got = append(got, e.rel)
	}
	want := ".dockerignore Dockerfile app.js keys moltctl.yaml sub"
	if strings.Join(got, " ") != want {
		t.Errorf("entries %q, want %q", strings.Join(got, " "), want)
	}
	var buf bytes.Buffer
	if err := bc.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(sentinel)) {
		t.Error("the context archive holds the sentinel")
	}
	note := bc.protectedNote()
	for _, p := range []string{".moltctl/", ".git/", ".env", ".dev.vars"} {
		if !strings.Contains(note, p) {
			t.Errorf("note %q does not name %s", note, p)
		}
	}
}

func TestProtectedPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]bool{
		".moltctl": true, ".moltctl/x/credentials.json": true, "a/.git/config": true, ".git": true,
		".env": true, ".env.local": true, "a/b/.dev.vars": true, ".dev.vars.prod": true,
		"env": false, "a.env": false, "src/moltctl/x": false, "dev.vars": false, ".github/workflows/x.yml": false, "x.git": false,
	} {
		if got := protectedPath(p); got != want {
			t.Errorf("protectedPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestBuildLeavesCredentialsOut builds `COPY . /` with a Docker daemon in a
// checkout that holds credentials and searches every layer of the saved
// image for the sentinel.
func TestBuildLeavesCredentialsOut(t *testing.T) {
	t.Parallel()
	c := docker(t)
	sentinel := "sentinel-" + nonce()
	dir := t.TempDir()
	files := credentialFiles(sentinel)
	files["Dockerfile"] = "FROM scratch\nCOPY . /\n"
	files["app.js"] = "ok " + nonce() + "\n"
	writeTree(t, dir, files)
	rec := &recorder{}
	res, err := Build(context.Background(), c, BuildRequest{Spec: Spec{ContextDir: dir, Dockerfile: "Dockerfile", Exclude: SecretFiles(dir)}, Progress: rec.progress()})
	if err != nil {
		t.Fatal(err)
	}
	removeImages(t, c, LocalRef(res.Tag))
	if n := rec.count(EventExcluded); n != 1 {
		t.Errorf("%d %s events, want 1", n, EventExcluded)
	}
	img, cleanup, err := loadFromDaemon(context.Background(), c, res.ImageID)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers %d, %v", len(layers), err)
	}
	sawApp := false
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			if bytes.Contains(b, []byte(sentinel)) || strings.Contains(h.Name, ".moltctl") {
				t.Errorf("layer file %s holds credentials", h.Name)
			}
			sawApp = sawApp || h.Name == "app.js"
		}
		rc.Close()
	}
	if !sawApp {
		t.Error("app.js is not in the image: the test looked at the wrong layers")
	}
	raw, _ := img.RawConfigFile()
	if bytes.Contains(raw, []byte(sentinel)) {
		t.Error("image config holds the sentinel")
	}
}
