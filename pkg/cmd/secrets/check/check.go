// Package check implements `moltctl secrets check`.
package check

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/secrets/shared"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// CheckOptions are the inputs of secrets check.
type CheckOptions struct {
	Factory *cmdutil.Factory
}

// Entry is one secret's outcome. JSON contract.
type Entry struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	// Status is ok, invalid, unresolved (the source gave no value) or
	// deploy (moltctl deploy provides it).
	Status string `json:"status"`
}

// Result is the whole check. JSON contract.
type Result struct {
	OK       bool              `json:"ok"`
	Manifest string            `json:"manifest"`
	Secrets  []Entry           `json:"secrets"`
	Vars     []string          `json:"vars"`
	Problems []secrets.Problem `json:"problems"`
}

// CodeSource marks a problem reading a source.
const CodeSource = "source"

// NewCmdCheck returns the check command; runF replaces the run in tests.
func NewCmdCheck(f *cmdutil.Factory, runF func(context.Context, *CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{Factory: f}
	return &cobra.Command{
		Use:   "check",
		Short: "Validate moltctl.yaml's sources and values without sending anything",
		Long: `Read every secret from its source and validate the values and vars against
moltworker's catalogue: formats, values typed under the wrong name, required
names, AI provider, and names that go together. Nothing is sent and no
network is needed; it never prompts.

Exit status: 0 when everything is valid (warnings allowed), 2 when anything
is invalid or a source gives no value.`,
		Example: `  $ moltctl secrets check
  $ moltctl secrets check --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	f := opts.Factory
	io := f.IOStreams
	p, err := shared.LoadProject(f)
	if err != nil {
		return err
	}
	m, err := p.Manifest()
	if err != nil {
		return err
	}
	creds, err := p.Store.LoadCredentials()
	if err != nil {
		return fmt.Errorf("read generated secrets: %w", err)
	}
	gen := map[string]string{}
	for k, v := range creds.Generated {
		gen[k] = v // a copy: check never saves a value it generates
	}
	var warnings []string
	ropts := manifest.ResolveOptions{Getenv: f.Getenv, Generated: gen, Warn: func(s string) { warnings = append(warnings, s) }}
	if !io.IsStdinTTY() {
		ropts.Stdin = io.In
	}
	values, rerr := m.Resolve(ctx, ropts)
	res := &Result{Manifest: m.Path, Secrets: []Entry{}, Vars: append([]string{}, m.VarNames...), Problems: []secrets.Problem{}}
	unresolved := map[string]bool{}
	var rerrs manifest.ResolveErrors
	if errors.As(rerr, &rerrs) {
		for _, e := range rerrs {
			unresolved[e.Name] = true
			res.Problems = append(res.Problems, secrets.Problem{Name: e.Name, Severity: secrets.SeverityError, Code: CodeSource,
				Message: e.Error(), Fix: e.Fix})
		}
	} else if rerr != nil {
		return rerr
	}
	for _, w := range warnings {
		res.Problems = append(res.Problems, secrets.Problem{Severity: secrets.SeverityWarning, Code: CodeSource, Message: w})
	}
	pending := m.DeployNames()
	for n := range unresolved {
		pending = append(pending, n)
	}
	report := secrets.Validate(secrets.Input{Secrets: values, Vars: m.Vars, Pending: pending})
	res.Problems = append(res.Problems, report.Problems...)
	for _, s := range m.Secrets {
		e := Entry{Name: s.Name, Source: s.Source.String(), Status: "ok"}
		switch {
		case s.Source.Kind == manifest.SourceDeploy:
			e.Status = "deploy"
		case unresolved[s.Name]:
			e.Status = "unresolved"
		}
		for _, pr := range report.ForName(s.Name) {
			if pr.Severity == secrets.SeverityError && e.Status == "ok" {
				e.Status = "invalid"
			}
		}
		res.Secrets = append(res.Secrets, e)
	}
	res.OK = true
	for _, pr := range res.Problems {
		if pr.Severity == secrets.SeverityError {
			res.OK = false
		}
	}

	if f.Global.JSON() {
		if err := cmdutil.WriteJSON(io.Out, res); err != nil {
			return err
		}
	} else {
		cs := io.ColorScheme()
		for _, e := range res.Secrets {
			icon := cs.SuccessIcon()
			switch e.Status {
			case "invalid", "unresolved":
				icon = cs.FailureIcon()
			case "deploy":
				icon = cs.SkippedIcon()
			}
			note := ""
			if e.Status == "deploy" {
				note = cs.Gray(" (set by moltctl deploy)")
			}
			fmt.Fprintf(io.Out, "%s %s %s%s\n", icon, e.Name, cs.Gray("from "+e.Source), note)
		}
		if len(res.Problems) > 0 {
			fmt.Fprintln(io.ErrOut)
		}
		shared.PrintProblems(io, res.Problems)
		if res.OK {
			fmt.Fprintf(io.ErrOut, "%s %s is valid: %d secrets, %d vars\n", cs.SuccessIcon(), manifest.FileName, len(res.Secrets), len(res.Vars))
		} else {
			fmt.Fprintf(io.ErrOut, "%s %s is not valid; nothing would be sent\n", cs.FailureIcon(), manifest.FileName)
		}
	}
	if !res.OK {
		return &clierr.SilentError{Code: clierr.ExitUsage}
	}
	return nil
}
