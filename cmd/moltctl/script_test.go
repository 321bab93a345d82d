package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// runMainEnv, set in a test binary's environment, makes it run moltctl's
// Main instead of the tests (for tests that time or trace a whole process).
const runMainEnv = "MOLTCTL_TEST_RUN_MAIN"

// TestMain lets scripts run `moltctl` as a command served by this test
// binary, so the scripts exercise the real Main with coverage.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Exit(root.Main(context.Background(), os.Args[1:], iostreams.System(os.Getenv), os.Getenv))
	}
	testscript.Main(m, map[string]func(){
		"moltctl": func() {
			os.Exit(root.Main(context.Background(), os.Args[1:], iostreams.System(os.Getenv), os.Getenv))
		},
	})
}

// TestScripts runs testdata/script/*.txtar: each is a small project and
// the moltctl commands a user would type in it, with expected output.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			// Scripts never talk to Cloudflare unless they start an emulator.
			env.Setenv("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9/client/v4")
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"emulator": emulatorCmd,
		},
	})
}

// emulatorCmd starts cfemu for the rest of the script and points moltctl
// at it: `emulator [ready|new-account]`.
func emulatorCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: emulator [ready|new-account]")
	}
	scenario := cfemu.ScenarioReady
	if len(args) == 1 {
		scenario = args[0]
	}
	srv := cfemu.New(cfemu.Options{Scenario: scenario, ColdStart: 20 * time.Millisecond}).Start()
	ts.Defer(srv.Close)
	ts.Setenv("CLOUDFLARE_API_BASE_URL", srv.APIURL())
	ts.Setenv("CLOUDFLARE_API_TOKEN", srv.Token())
	ts.Setenv("CLOUDFLARE_API_TOKEN_REAL", srv.Token())
	ts.Setenv("CLOUDFLARE_CONTAINER_REGISTRY", srv.RegistryHost())
	ts.Setenv("MOLTCTL_WORKERS_DEV_URL", srv.WorkersDevURLTemplate())
	ts.Setenv("ACCOUNT_ID", srv.AccountID())
}
