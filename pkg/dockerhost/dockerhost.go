// Package dockerhost connects to a Docker Engine the way the docker CLI
// does: DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH), else
// DOCKER_CONTEXT or the current context named in ~/.docker/config.json,
// else the platform's default socket; the API version is negotiated with
// the daemon, so old daemons (Debian's 20.10, API 1.41) and current ones
// both work.
package dockerhost

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// Endpoint is where the Docker Engine is reached, and why.
type Endpoint struct {
	// Host is the daemon address, e.g. unix:///var/run/docker.sock or tcp://host:2376.
	Host string `json:"host"`
	// Context is the docker context it came from ("default" when none).
	Context string `json:"context"`
	// Source says what chose it: "DOCKER_HOST", "DOCKER_CONTEXT", "config.json" or "default".
	Source string `json:"source"`
	// TLS material; empty when the connection is not TLS.
	CAFile, CertFile, KeyFile string `json:"-"`
	// TLSVerify is whether the server certificate is verified.
	TLSVerify bool `json:"-"`
	// TLS is whether TLS is used at all.
	TLS bool `json:"tls"`
	// ResponseTimeout bounds the wait for the start of each answer from the
	// daemon; zero means DefaultResponseTimeout.
	ResponseTimeout time.Duration `json:"-"`
}

// DefaultResponseTimeout is how long moltctl waits for the daemon to start
// answering a request.
const DefaultResponseTimeout = 2 * time.Minute

func (ep *Endpoint) responseTimeout() time.Duration {
	if ep.ResponseTimeout > 0 {
		return ep.ResponseTimeout
	}
	return DefaultResponseTimeout
}

// DefaultContext is the name the docker CLI gives the context of DOCKER_HOST or the default socket.
const DefaultContext = "default"

// configDir is DOCKER_CONFIG, else ~/.docker.
func configDir(getenv func(string) string) string {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" && runtime.GOOS == "windows" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".docker")
}

// contextMeta is the part of ~/.docker/contexts/meta/<sha256>/meta.json we read.
type contextMeta struct {
	Name      string `json:"Name"`
	Endpoints map[string]struct {
		Host          string `json:"Host"`
		SkipTLSVerify bool   `json:"SkipTLSVerify"`
	} `json:"Endpoints"`
}

// Resolve finds the endpoint the docker CLI would use, reading the
// environment through getenv and the docker config directory from disk.
func Resolve(getenv func(string) string) (*Endpoint, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := configDir(getenv)
	if h := getenv("DOCKER_HOST"); h != "" {
		ep := &Endpoint{Host: h, Context: DefaultContext, Source: "DOCKER_HOST"}
		certPath := getenv("DOCKER_CERT_PATH")
		verify := getenv("DOCKER_TLS_VERIFY") != ""
		if verify || certPath != "" {
			if certPath == "" {
				certPath = dir
			}
			ep.TLS, ep.TLSVerify = true, verify
			ep.CAFile = filepath.Join(certPath, "ca.pem")
			ep.CertFile = filepath.Join(certPath, "cert.pem")
			ep.KeyFile = filepath.Join(certPath, "key.pem")
		}
		return ep, nil
	}
	name, source := getenv("DOCKER_CONTEXT"), "DOCKER_CONTEXT"
	if name == "" {
		source = "config.json"
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err == nil {
			var cfg struct {
				CurrentContext string `json:"currentContext"`
			}
			if err := json.Unmarshal(b, &cfg); err != nil {
				return nil, fmt.Errorf("read docker config %s: %w", filepath.Join(dir, "config.json"), err)
			}
			name = cfg.CurrentContext
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("read docker config: %w", err)
		}
	}
	if name == "" || name == DefaultContext {
		return &Endpoint{Host: client.DefaultDockerHost, Context: DefaultContext, Source: "default"}, nil
	}
	sum := sha256.Sum256([]byte(name))
	id := hex.EncodeToString(sum[:])
	metaPath := filepath.Join(dir, "contexts", "meta", id, "meta.json")
	b, err := os.ReadFile(metaPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &EndpointError{Problem: NoSuchContext, Err: fmt.Errorf("docker context %q (from %s) does not exist: no %s", name, source, metaPath)}
		}
		return nil, fmt.Errorf("read docker context %q: %w", name, err)
	}
	var meta contextMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("read docker context %q: %s: %w", name, metaPath, err)
	}
	d, ok := meta.Endpoints["docker"]
	if !ok || d.Host == "" {
		return nil, fmt.Errorf("docker context %q has no docker endpoint", name)
	}
	ep := &Endpoint{Host: d.Host, Context: name, Source: source}
	tlsDir := filepath.Join(dir, "contexts", "tls", id, "docker")
	if _, err := os.Stat(filepath.Join(tlsDir, "key.pem")); err == nil || strings.HasPrefix(d.Host, "https://") {
		ep.TLS, ep.TLSVerify = true, !d.SkipTLSVerify
		ep.CAFile = filepath.Join(tlsDir, "ca.pem")
		ep.CertFile = filepath.Join(tlsDir, "cert.pem")
		ep.KeyFile = filepath.Join(tlsDir, "key.pem")
	} else if _, err := os.Stat(filepath.Join(tlsDir, "ca.pem")); err == nil {
		ep.TLS, ep.TLSVerify = true, !d.SkipTLSVerify
		ep.CAFile = filepath.Join(tlsDir, "ca.pem")
	}
	return ep, nil
}

// Connect returns an Engine API client for the endpoint the docker CLI
// would use, with the API version negotiated on first use. It does not
// contact the daemon; call Ping or Inspect to find out whether it answers.
func Connect(ctx context.Context, getenv func(string) string) (*client.Client, error) {
	ep, err := Resolve(getenv)
	if err != nil {
		return nil, err
	}
	return ConnectEndpoint(ctx, ep)
}

// Dial is Connect with the fix for an endpoint it cannot use.
func Dial(ctx context.Context, getenv func(string) string) (*client.Client, error) {
	c, err := Connect(ctx, getenv)
	if err != nil {
		return nil, Explain(err, "connect to docker")
	}
	return c, nil
}

// Problem is what is wrong with an endpoint moltctl cannot use.
type Problem int

const (
	NoSuchContext Problem = iota + 1 // DOCKER_CONTEXT or the current context names none that exists
	SSHHost                          // an ssh:// endpoint, which moltctl does not dial
	BadTLS                           // the TLS files of DOCKER_CERT_PATH or the context are unusable
)

// EndpointError is an endpoint Resolve or Connect cannot use; Describe
// tells the fix from its Problem.
type EndpointError struct {
	Problem Problem
	Err     error
}

func (e *EndpointError) Error() string { return e.Err.Error() }
func (e *EndpointError) Unwrap() error { return e.Err }

// ConnectEndpoint returns an Engine API client for ep.
func ConnectEndpoint(_ context.Context, ep *Endpoint) (*client.Client, error) {
	if strings.HasPrefix(ep.Host, "ssh://") {
		return nil, &EndpointError{Problem: SSHHost, Err: fmt.Errorf("docker host %s (context %s): ssh:// endpoints are not supported yet", ep.Host, ep.Context)}
	}
	// A daemon that accepts the connection and never answers would hang
	// every command that uses Docker. No Engine call moltctl makes waits
	// long before its answer starts (a build streams its progress), so the
	// answer's headers are bounded; the body is not.
	tr := &http.Transport{MaxIdleConns: 6, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: ep.responseTimeout()}
	opts := []client.Opt{
		client.WithHTTPClient(&http.Client{Transport: tr, CheckRedirect: client.CheckRedirect}),
		client.WithHost(ep.Host), client.WithAPIVersionNegotiation(),
	}
	if ep.TLS {
		tc, err := tlsConfig(ep)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
		opts = append(opts, client.WithScheme("https"))
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker host %s: %w", ep.Host, err)
	}
	return c, nil
}

func tlsConfig(ep *Endpoint) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !ep.TLSVerify} //nolint:gosec // as the docker CLI with DOCKER_TLS_VERIFY unset
	if ep.CAFile != "" {
		if pem, err := os.ReadFile(ep.CAFile); err == nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &EndpointError{Problem: BadTLS, Err: fmt.Errorf("docker TLS: no certificate in %s", ep.CAFile)}
			}
			tc.RootCAs = pool
		} else if ep.TLSVerify {
			return nil, &EndpointError{Problem: BadTLS, Err: fmt.Errorf("docker TLS: %w", err)}
		}
	}
	if ep.CertFile != "" && ep.KeyFile != "" {
		if _, err := os.Stat(ep.CertFile); err == nil {
			cert, err := tls.LoadX509KeyPair(ep.CertFile, ep.KeyFile)
			if err != nil {
				return nil, &EndpointError{Problem: BadTLS, Err: fmt.Errorf("docker TLS client certificate: %w", err)}
			}
			tc.Certificates = []tls.Certificate{cert}
		}
	}
	return tc, nil
}

// Info is what doctor shows about the Docker Engine.
type Info struct {
	ServerVersion   string `json:"server_version"`
	APIVersion      string `json:"api_version"`
	MinAPIVersion   string `json:"min_api_version,omitempty"`
	OS              string `json:"os"`
	Arch            string `json:"arch"`
	OperatingSystem string `json:"operating_system,omitempty"`
	RootDir         string `json:"root_dir,omitempty"`
	// FreeDisk is the free space in bytes under the daemon's root directory, -1 when it cannot be known
	// (for example a daemon in a VM or on another machine).
	FreeDisk int64 `json:"free_disk"`
	// Host is the endpoint that answered.
	Host string `json:"host"`
}

// Inspect asks the daemon for its version and details. Errors are
// those of the Engine API client; pass them to Describe for advice.
func Inspect(ctx context.Context, c client.APIClient) (*Info, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := c.ServerVersion(ctx)
	if err != nil {
		return nil, err
	}
	info := &Info{ServerVersion: v.Version, APIVersion: v.APIVersion, MinAPIVersion: v.MinAPIVersion,
		OS: v.Os, Arch: v.Arch, FreeDisk: -1, Host: c.DaemonHost()}
	if si, err := c.Info(ctx); err == nil {
		info.OperatingSystem = si.OperatingSystem
		info.RootDir = si.DockerRootDir
		if strings.HasPrefix(c.DaemonHost(), "unix://") && !isDesktop(si.OperatingSystem) {
			info.FreeDisk = freeDisk(si.DockerRootDir)
		}
	}
	return info, nil
}

// isDesktop reports whether the daemon runs in Docker Desktop's VM, where
// its root directory is not the host's.
func isDesktop(osName string) bool {
	return strings.Contains(osName, "Docker Desktop") || runtime.GOOS != "linux"
}

// MinFreeDisk is the free space below which doctor should warn: a
// moltworker image and its build cache take a few GB.
const MinFreeDisk = 5 << 30
