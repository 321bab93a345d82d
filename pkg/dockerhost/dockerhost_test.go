package dockerhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeContext(t *testing.T, dir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	p := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(p, 0o700); err != nil {
		t.Fatal(err)
	}
	meta := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(p, "meta.json"), []byte(meta), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeContext(t, dir, "colima", "unix:///home/u/.colima/default/docker.sock")
	writeContext(t, dir, "remote", "tcp://10.0.0.5:2375")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{},"currentContext":"colima"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name      string
		env       map[string]string
		host, ctx string
		source    string
		tls       bool
		wantErr   string
	}{
		{name: "DOCKER_HOST wins over everything", env: map[string]string{"DOCKER_CONFIG": dir, "DOCKER_HOST": "tcp://1.2.3.4:2375", "DOCKER_CONTEXT": "remote"},
			host: "tcp://1.2.3.4:2375", ctx: "default", source: "DOCKER_HOST"},
		{name: "DOCKER_HOST with TLS verify", env: map[string]string{"DOCKER_CONFIG": dir, "DOCKER_HOST": "tcp://1.2.3.4:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"},
			host: "tcp://1.2.3.4:2376", ctx: "default", source: "DOCKER_HOST", tls: true},
		{name: "DOCKER_CONTEXT over config.json", env: map[string]string{"DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "remote"},
			host: "tcp://10.0.0.5:2375", ctx: "remote", source: "DOCKER_CONTEXT"},
		{name: "current context from config.json", env: map[string]string{"DOCKER_CONFIG": dir},
			host: "unix:///home/u/.colima/default/docker.sock", ctx: "colima", source: "config.json"},
		{name: "no config: default socket", env: map[string]string{"DOCKER_CONFIG": empty},
			host: client.DefaultDockerHost, ctx: "default", source: "default"},
		{name: "HOME/.docker is read", env: map[string]string{"HOME": filepath.Dir(dir) + "/nonexistent"},
			host: client.DefaultDockerHost, ctx: "default", source: "default"},
		{name: "explicit default context", env: map[string]string{"DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "default"},
			host: client.DefaultDockerHost, ctx: "default", source: "default"},
		{name: "missing context", env: map[string]string{"DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "nope"}, wantErr: `docker context "nope" (from DOCKER_CONTEXT) does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ep, err := Resolve(env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if DescribeOS("linux", err) == "" {
					t.Errorf("no advice for %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != tt.host || ep.Context != tt.ctx || ep.Source != tt.source || ep.TLS != tt.tls {
				t.Errorf("got %+v", ep)
			}
			if tt.tls && (ep.CAFile != "/certs/ca.pem" || !ep.TLSVerify) {
				t.Errorf("tls files: %+v", ep)
			}
		})
	}
}

func TestDescribeDaemonDown(t *testing.T) {
	t.Parallel()
	c, err := Connect(context.Background(), env(map[string]string{"DOCKER_HOST": "unix://" + filepath.Join(t.TempDir(), "none.sock")}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Inspect(context.Background(), c)
	if err == nil {
		t.Fatal("Inspect of a missing socket succeeded")
	}
	tests := map[string]string{
		"linux":   "sudo systemctl start docker",
		"darwin":  "Docker Desktop",
		"windows": "Docker Desktop",
		"plan9":   "DOCKER_HOST",
	}
	for goos, want := range tests {
		if got := DescribeOS(goos, err); !strings.Contains(got, want) {
			t.Errorf("%s: advice %q lacks %q", goos, got, want)
		}
	}
	if got := DescribeOS("linux", errors.New("permission denied while trying to connect to the Docker daemon socket")); !strings.Contains(got, "usermod -aG docker") {
		t.Errorf("permission advice = %q", got)
	}
	if got := DescribeOS("linux", errors.New("manifest unknown")); got != "" {
		t.Errorf("unrelated error got advice %q", got)
	}
	if e := Explain(err, "connect to docker"); !strings.HasPrefix(e.Error(), "connect to docker: ") {
		t.Errorf("Explain = %v", e)
	}
}

func TestInspectRealDaemon(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	c, err := Connect(context.Background(), os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := Inspect(context.Background(), c)
	if err != nil {
		t.Fatalf("%v (%s)", err, Describe(err))
	}
	if info.ServerVersion == "" || info.APIVersion == "" || info.OS != "linux" {
		t.Errorf("info = %+v", info)
	}
	// Negotiation: the client speaks no newer a version than the daemon.
	if !versions.LessThanOrEqualTo(c.ClientVersion(), info.APIVersion) {
		t.Errorf("client version %s, daemon %s", c.ClientVersion(), info.APIVersion)
	}
}

func TestDescribeEndpointProblems(t *testing.T) {
	t.Parallel()
	_, sshErr := ConnectEndpoint(context.Background(), &Endpoint{Host: "ssh://me@build", Context: "remote"})
	_, tlsErr := ConnectEndpoint(context.Background(), &Endpoint{Host: "tcp://127.0.0.1:2376", TLS: true, TLSVerify: true,
		CAFile: filepath.Join(t.TempDir(), "ca.pem")})
	for err, want := range map[error]string{sshErr: "tcp:// or unix://", tlsErr: "DOCKER_CERT_PATH"} {
		if got := DescribeOS("linux", err); !strings.Contains(got, want) {
			t.Errorf("%v: advice %q lacks %q", err, got, want)
		}
	}
}
