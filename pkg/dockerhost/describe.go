package dockerhost

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/docker/docker/client"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// Describe returns what the user can do about err, an error from Connect
// or from talking to the daemon, for this machine's OS; "" when there is
// no specific advice.
func Describe(err error) string { return DescribeOS(runtime.GOOS, err) }

// DescribeOS is Describe for the named GOOS (tests use it for every OS).
func DescribeOS(goos string, err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var ep *EndpointError
	isEndpoint := func(p Problem) bool { return errors.As(err, &ep) && ep.Problem == p }
	switch {
	case errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES) || strings.Contains(msg, "permission denied"):
		if goos == "linux" {
			return "your user may not use the Docker socket: run `sudo usermod -aG docker $USER` and log in again " +
				"(or use rootless Docker and set DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock)"
		}
		return "your user may not use the Docker socket: restart Docker Desktop, or check DOCKER_HOST / `docker context ls`"
	case isEndpoint(NoSuchContext):
		return "pick an existing context with `docker context use NAME` (see `docker context ls`) or unset DOCKER_CONTEXT"
	case isEndpoint(SSHHost):
		return "point DOCKER_HOST at a tcp:// or unix:// endpoint (for example forward the remote socket with `ssh -L`)"
	case isEndpoint(BadTLS):
		return "check DOCKER_CERT_PATH holds ca.pem, cert.pem and key.pem for the daemon, or the TLS files of your docker context"
	case client.IsErrConnectionFailed(err) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) ||
		strings.Contains(msg, "Cannot connect to the Docker daemon") ||
		strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such file or directory"):
		return notRunning(goos)
	case isTimeout(err):
		// Connected (a failed dial is the case above) but no answer in time.
		return "the Docker daemon took the connection but did not answer: restart it (Docker Desktop, or `sudo systemctl restart docker`) and check that `docker info` answers"
	}
	return ""
}

// isTimeout reports a request the daemon never started to answer
// (Endpoint.ResponseTimeout) or not in the caller's time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func notRunning(goos string) string {
	switch goos {
	case "darwin":
		return "start Docker Desktop (`open -a Docker`), or with Colima `colima start`, and wait until `docker info` answers"
	case "windows":
		return "start Docker Desktop from the Start menu and wait until `docker info` answers (WSL: enable WSL integration for your distro)"
	case "linux":
		return "start the daemon: `sudo systemctl start docker` (install it with your package manager, e.g. `sudo apt-get install docker.io`, " +
			"or Docker Desktop); if it runs elsewhere, set DOCKER_HOST or `docker context use NAME`"
	default:
		return "start the Docker daemon (`sudo service docker start`) or set DOCKER_HOST to where it runs"
	}
}

// DaemonError adds the per-OS fix to an error from talking to the daemon
// when the daemon could not be reached; other errors pass unchanged.
func DaemonError(err error) error {
	if err != nil && (client.IsErrConnectionFailed(err) || isTimeout(err)) {
		return Explain(err, "")
	}
	return err
}

// Explain wraps err from talking to the daemon with what was being done
// and the fix from Describe.
func Explain(err error, doing string) error {
	if err == nil {
		return nil
	}
	if doing != "" {
		err = fmt.Errorf("%s: %w", doing, err)
	}
	if fix := Describe(err); fix != "" {
		return &clierr.HintError{Err: err, Fix: fix}
	}
	return err
}
