package launch

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// fakeRun records the commands launch runs; doctor fails (exit 3) the
// first failDoctor times, as when Workers Paid is not subscribed yet.
type fakeRun struct {
	ran        []string
	failDoctor int
}

func (r *fakeRun) run(_ context.Context, cmd *cobra.Command, args ...string) error {
	r.ran = append(r.ran, strings.TrimSpace(cmd.Name()+" "+strings.Join(args, " ")))
	if cmd.Name() == "doctor" && r.failDoctor > 0 {
		r.failDoctor--
		return &clierr.SilentError{Code: clierr.ExitPreflight}
	}
	return nil
}

func factory(t *testing.T, tty bool, input string) (*cmdutil.Factory, func() string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wrangler.jsonc"), []byte(`{"name": "molt", "main": "src/index.ts"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ios, in, _, errOut := iostreams.Test()
	in.WriteString(input)
	ios.SetTTY(tty)
	return &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{Output: cmdutil.OutputText},
		Getenv: func(string) string { return "" }, WorkingDir: dir, Now: time.Now, HTTPClient: cmdutil.NewHTTPClient()}, errOut.String
}

// On a terminal: init, doctor until the person's steps are done (Enter
// checks again), deploy, then waiting for the browser to pair.
func TestLaunchOnATerminal(t *testing.T) {
	t.Parallel()
	f, errOut := factory(t, true, "\n")
	r := &fakeRun{failDoctor: 1}
	if err := launchRun(context.Background(), &LaunchOptions{Factory: f, run: r.run}); err != nil {
		t.Fatalf("launch: %v\n%s", err, errOut())
	}
	want := []string{"init --skip-doctor", "doctor --fix", "doctor --fix", "deploy", "devices approve --wait"}
	if !reflect.DeepEqual(r.ran, want) {
		t.Errorf("ran %q, want %q", r.ran, want)
	}
}

// Without a terminal it does what it can, stops before the deploy while a
// person's step is left (exit 3), and says to run it again.
func TestLaunchWithoutATerminal(t *testing.T) {
	t.Parallel()
	f, errOut := factory(t, false, "")
	r := &fakeRun{failDoctor: 1}
	err := launchRun(context.Background(), &LaunchOptions{Factory: f, run: r.run})
	if clierr.ExitCodeOf(err) != clierr.ExitPreflight {
		t.Fatalf("launch: %v, want exit %d", err, clierr.ExitPreflight)
	}
	if want := []string{"init --skip-doctor", "doctor --fix"}; !reflect.DeepEqual(r.ran, want) {
		t.Errorf("ran %q, want %q", r.ran, want)
	}
	if !strings.Contains(errOut(), "run moltctl launch again") {
		t.Errorf("does not say what next:\n%s", errOut())
	}

	// Once nothing blocks, it deploys and names the pairing step.
	r = &fakeRun{}
	if err := launchRun(context.Background(), &LaunchOptions{Factory: f, run: r.run}); err != nil {
		t.Fatal(err)
	}
	if r.ran[len(r.ran)-1] != "deploy" || !strings.Contains(errOut(), "Next: moltctl devices approve --wait") {
		t.Errorf("ran %q\n%s", r.ran, errOut())
	}
}

// On a terminal, someone who is not done with their steps yet is told the
// one thing to do next, as without a terminal.
func TestLaunchNotDoneYetSaysWhatNext(t *testing.T) {
	t.Parallel()
	f, errOut := factory(t, true, "n\n")
	r := &fakeRun{failDoctor: 1}
	err := launchRun(context.Background(), &LaunchOptions{Factory: f, run: r.run})
	if clierr.ExitCodeOf(err) != clierr.ExitPreflight {
		t.Fatalf("launch: %v, want exit %d\n%s", err, clierr.ExitPreflight, errOut())
	}
	if got := strings.Count(errOut(), "run moltctl launch again"); got != 1 {
		t.Errorf("%d next lines, want 1:\n%s", got, errOut())
	}
}
