package deploy

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// The command a failed deploy names to continue carries every flag the
// run was given, so that it deploys the same project to the same account
// and answers as this run did.
func TestResumeCarriesEveryFlagGiven(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := iostreams.Test()
	// The global flags as root parses them.
	f := &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{Env: "staging", ConfigPath: "other dir/wrangler.jsonc",
		Account: "acct-2", Output: cmdutil.OutputJSON, Yes: true, Verbose: true}}
	var got string
	cmd := NewCmdDeploy(f, InitFuncs{}, func(o *DeployOptions) error { got = resumeCommand(f, o); return nil })
	cmd.SetArgs([]string{"--image", "registry.example/a/b:c", "--wait-lock", "--no-wait", "--timeout", "2m",
		"--log-format", "kv", "--show-token"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "moltctl deploy --env staging --config 'other dir/wrangler.jsonc' --account acct-2 --image registry.example/a/b:c " +
		"--log-format kv --no-wait --show-token --timeout 2m0s --wait-lock --output json --yes --verbose"
	if got != want {
		t.Errorf("resume:\n got %s\nwant %s", got, want)
	}
	// A flag added to deploy later must reach the resume command too.
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		switch fl.Name {
		case "dry-run", "skip-build", "help": // a dry run has nothing to continue; --image implies --skip-build
			return
		}
		if !strings.Contains(got, "--"+fl.Name) {
			t.Errorf("resume %q lacks --%s", got, fl.Name)
		}
	})

	// Without flags: the plain command.
	f = &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{Output: cmdutil.OutputText}}
	cmd = NewCmdDeploy(f, InitFuncs{}, func(o *DeployOptions) error { got = resumeCommand(f, o); return nil })
	cmd.SetArgs([]string{})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got != "moltctl deploy" {
		t.Errorf("resume without flags = %q", got)
	}
}
