package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// runMainEnv, set in a test binary's environment, makes it run moltctl's
// Main instead of the tests (for tests that time or trace a whole process).
const runMainEnv = "MOLTCTL_TEST_RUN_MAIN"

// update rewrites the golden sections of testdata/script/*.txtar that
// `cmpout` finds different: go test ./cmd/moltctl -run TestScripts -update
var update = flag.Bool("update", false, "rewrite the golden files of testdata/script/*.txtar compared with cmpout to the actual output")

// TestMain lets scripts run `moltctl` as a command served by this test
// binary, so the scripts exercise the real Main with coverage.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(runMain())
	}
	testscript.Main(m, map[string]func(){
		"moltctl": func() { os.Exit(runMain()) },
	})
}

// runMain is main's body: Ctrl-C (or `kill -INT` in a script) stops the
// command cleanly, as it does for the real binary.
func runMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return root.Main(ctx, os.Args[1:], iostreams.System(os.Getenv), os.Getenv)
}

// TestScripts runs testdata/script/*.txtar: each is a small project and
// the moltctl commands a user would type in it, with expected output.
// Commands the scripts have beyond testscript's own are listed in
// scriptCmds; docs/architecture.md says how to add a script.
// Not parallel itself: testscript runs the scripts in parallel with each
// other, and they finish before the init-time test, which is timed, starts.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: setupScript,
		Cmds:  scriptCmds,
		Condition: func(cond string) (bool, error) {
			if cond == "docker" {
				return dockerAnswers()
			}
			return false, nil
		},
	})
}

// setupScript gives every script an environment of its own: nothing of the
// machine's leaks in (HOME, Docker, Cloudflare), so output is the same
// everywhere.
func setupScript(env *testscript.Env) error {
	// Scripts never talk to Cloudflare unless they start an emulator.
	env.Setenv("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9/client/v4")
	env.Setenv("NO_COLOR", "1")
	// moltctl's key file goes to $HOME/.config/moltctl.
	env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
	// Docker answers only in scripts that ask for it with `docker`, so
	// the Docker checks fail the same way on every machine.
	env.Setenv("DOCKER_HOST", "unix://"+filepath.Join(env.WorkDir, "no-docker.sock"))
	// What `moltctl version` prints of the platform, for cmpenv.
	env.Setenv("GO_VERSION", runtime.Version())
	env.Setenv("HOST_OS", runtime.GOOS)
	env.Setenv("HOST_ARCH", runtime.GOARCH)
	sc := &scriptState{}
	if named, ok := env.T().(interface{ Name() string }); ok {
		sc.file = filepath.Join("testdata", "script", filepath.Base(named.Name())+".txtar")
	}
	env.Values[scriptKey{}] = sc
	env.Defer(func() {
		if err := sc.writeUpdates(); err != nil {
			env.T().Fatal(err)
		}
	})
	return nil
}

// scriptKey finds a script's scriptState in its Values.
type scriptKey struct{}

// scriptState is what the harness's commands share within one script.
type scriptState struct {
	file string // the script's .txtar, for -update

	mu      sync.Mutex
	emu     *emulator
	updates map[string]string // golden file name → new content
}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(scriptKey{}).(*scriptState)
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"emulator": emulatorCmd,
	"image":    imageCmd,
	"device":   deviceCmd,
	"example":  exampleCmd,
	"docker":   dockerCmd,
	"exits":    exitsCmd,
	"waitlog":  waitlogCmd,
	"sleep":    sleepCmd,
	"perm":     permCmd,
	"cmpout":   cmpoutCmd,
}

// emulatorTimeout bounds what the harness asks of the emulator directly.
const emulatorTimeout = 30 * time.Second
