//go:build !windows

package dockerhost

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// TestSilentDaemonIsBounded: a daemon that accepts the connection and never
// answers fails the call once the answer is overdue, instead of hanging.
func TestSilentDaemonIsBounded(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skip("no unix sockets:", err)
	}
	testenv.Silent(t, ln)
	c, err := ConnectEndpoint(context.Background(), &Endpoint{Host: "unix://" + sock, ResponseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = c.Ping(ctx)
	if err == nil || ctx.Err() != nil || time.Since(start) > 5*time.Second {
		t.Fatalf("ping a silent daemon: err %v after %s, want an error from the response timeout", err, time.Since(start))
	}
	if fix := Describe(err); !strings.Contains(fix, "did not answer") {
		t.Errorf("fix for %v = %q, want one that says the daemon did not answer", err, fix)
	}
}
