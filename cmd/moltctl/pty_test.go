//go:build !windows

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// TestNoTerminalQueryStall runs every command on a pseudo-terminal that
// never answers, as tmux, screen, `script` and some IDE terminals behave.
// A command that asked the terminal for its background colour (OSC 11) or
// the cursor position (CSI 6n) would wait for an answer that never comes;
// each must finish within a second and send no such query.
// Not parallel: its runs are timed, so it runs alone, before the parallel
// tests start.
func TestNoTerminalQueryStall(t *testing.T) {
	bin, err := exec.LookPath("moltctl") // this test binary, linked by testscript.Main
	if err != nil {
		t.Skip("moltctl is not on PATH:", err)
	}
	f := root.NewFactory(&iostreams.IOStreams{In: &bytes.Buffer{}, Out: io.Discard, ErrOut: io.Discard}, func(string) string { return "" }, t.TempDir())
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Runnable() {
			paths = append(paths, path)
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub, append(append([]string(nil), path...), sub.Name()))
			}
		}
	}
	walk(root.NewCmdRoot(f), nil)
	if len(paths) < 15 {
		t.Fatalf("found only %d commands", len(paths))
	}
	for _, p := range paths {
		for _, args := range [][]string{p, append(append([]string(nil), p...), "--help")} {
			// One at a time: each run is timed against a second, and
			// dozens of processes started at once on a small machine
			// would measure the machine, not moltctl.
			t.Run(strings.Join(args, "_"), func(t *testing.T) {
				runSilentTerminal(t, bin, args)
			})
		}
	}
}

func runSilentTerminal(t *testing.T, bin string, args []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// No project and no token: commands stop early, so the time measured
	// is start-up and output, not the network.
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TERM=xterm-256color",
		"CLOUDFLARE_API_BASE_URL=http://127.0.0.1:9/client/v4",
		// A race-enabled build otherwise sleeps a second at exit.
		"GORACE=atexit_sleep_ms=0",
	}
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var screen bytes.Buffer
	read := make(chan struct{})
	go func() { _, _ = io.Copy(&screen, ptmx); close(read) }()
	start := time.Now()
	err = cmd.Wait()
	took := time.Since(start)
	<-read
	if ctx.Err() != nil {
		t.Fatalf("moltctl %s did not finish; screen:\n%q", strings.Join(args, " "), screen.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if took > time.Second {
		t.Errorf("moltctl %s took %s on a terminal that does not answer", strings.Join(args, " "), took.Round(time.Millisecond))
	}
	for _, q := range []string{"\x1b]11;?", "\x1b]10;?", "\x1b[6n"} {
		if strings.Contains(screen.String(), q) {
			t.Errorf("moltctl %s queried the terminal (%q)", strings.Join(args, " "), q)
		}
	}
}
