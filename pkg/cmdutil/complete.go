package cmdutil

import (
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// CompleteEnvNames completes --env with the environments of the project's
// wrangler.jsonc. Completion never fails loudly: no project, no names.
func (f *Factory) CompleteEnvNames(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	p, err := f.ConfigPath()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, err := wrangler.Parse(p, data)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, cobra.ShellCompDirectiveNoFileComp
}

// CompleteSecretNames completes the names of the secrets moltctl.yaml
// declares, leaving out those already on the command line.
func (f *Factory) CompleteSecretNames(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	cfg, err := f.Config()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	m, err := manifest.Load(manifest.Path(cfg.ProjectDir()))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	given := map[string]bool{}
	for _, a := range args {
		given[a] = true
	}
	var out []string
	for _, n := range m.Names() {
		if !given[n] {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
