// Package importcmd implements `moltctl secrets import`.
package importcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/secrets/shared"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/internal/atomicfile"
	"github.com/moltctl/moltctl/pkg/internal/bounded"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
)

// DefaultValuesFile is where imported values go, relative to the project.
var DefaultValuesFile = filepath.Join(state.DirName, "secrets.env")

// ImportOptions are the inputs of secrets import.
type ImportOptions struct {
	Factory *cmdutil.Factory
	File    string
	// ValuesFile receives the values (mode 0600), relative to the project.
	ValuesFile string
}

// Result is what import did. JSON contract.
type Result struct {
	Manifest   string            `json:"manifest"`
	ValuesFile string            `json:"values_file"`
	Secrets    []string          `json:"secrets"`
	Vars       []string          `json:"vars"`
	Skipped    []Skipped         `json:"skipped"`
	Warnings   []secrets.Problem `json:"warnings"`
}

// Skipped is an entry not imported, and why.
type Skipped struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// localOnly are settings for local development that must not reach a deployed Worker.
var localOnly = map[string]bool{"DEV_MODE": true, "E2E_TEST_MODE": true}

// NewCmdImport returns the import command; runF replaces the run in tests.
func NewCmdImport(f *cmdutil.Factory, runF func(context.Context, *ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a .dev.vars or dotenv file into moltctl.yaml",
		Long: `Read KEY=VALUE lines from a .dev.vars or .env file, validate them as secrets
set does, and record them: secret values go to a file only you can read
(.moltctl/secrets.env, mode 0600, ignored by git) and moltctl.yaml gets a
dotenv source for each; plain settings (SANDBOX_SLEEP_AFTER, DEBUG_ROUTES…)
become vars. Nothing is written while any value is invalid. A --values-file
inside the project gets a line in the .gitignore beside it, and is always
written with mode 0600.

DEV_MODE and E2E_TEST_MODE are not imported: they turn off Cloudflare Access.`,
		Example: `  $ moltctl secrets import .dev.vars
  $ moltctl secrets import .env --values-file ~/.config/moltctl/prod.env`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.File = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return importRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.ValuesFile, "values-file", DefaultValuesFile, "file that receives the secret values (mode 0600)")
	return cmd
}

func importRun(ctx context.Context, opts *ImportOptions) error {
	f := opts.Factory
	io := f.IOStreams
	p, err := shared.LoadProject(f)
	if err != nil {
		return err
	}
	// Locked before the values file and moltctl.yaml are read and written.
	unlock, err := p.Store.Lock(ctx, "moltctl secrets import", false)
	if err != nil {
		return err
	}
	defer unlock()
	src := opts.File
	if !filepath.IsAbs(src) {
		src = filepath.Join(f.WorkingDir, src)
	}
	b, err := bounded.ReadFile(src, manifest.MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &clierr.UsageError{Err: fmt.Errorf("%s does not exist", opts.File), Fix: "pass the path of a .dev.vars or .env file"}
	}
	if errors.Is(err, bounded.ErrTooLarge) {
		return &clierr.UsageError{Err: fmt.Errorf("%s is larger than %d KiB", opts.File, manifest.MaxFileSize>>10), Fix: "pass the path of a .dev.vars or .env file"}
	}
	if err != nil {
		return err
	}
	entries, err := manifest.ParseDotenv(opts.File, b)
	if err != nil {
		return err
	}
	var existing *manifest.Manifest
	if m, err := p.Manifest(); err == nil {
		existing = m
	} else if !errors.Is(err, manifest.ErrNotFound) {
		return err
	}

	res := &Result{Manifest: p.ManifestPath, Secrets: []string{}, Vars: []string{}, Skipped: []Skipped{}, Warnings: []secrets.Problem{}}
	var values secrets.Values
	vars := map[string]string{}
	var varOrder [][2]string
	for _, e := range entries {
		spec, known := secrets.Lookup(e.Key)
		switch {
		case localOnly[e.Key]:
			res.Skipped = append(res.Skipped, Skipped{e.Key, "local development only: it turns off Cloudflare Access"})
		case e.Value == "":
			res.Skipped = append(res.Skipped, Skipped{e.Key, "empty value"})
		case existing != nil && sourceIsDeploy(existing, e.Key):
			res.Skipped = append(res.Skipped, Skipped{e.Key, "set by moltctl deploy (source deploy in moltctl.yaml)"})
		case known && !spec.Secret && !spec.FromDeploy:
			vars[e.Key] = e.Value
			varOrder = append(varOrder, [2]string{e.Key, e.Value})
			res.Vars = append(res.Vars, e.Key)
		default:
			values.Set(e.Key, e.Value)
			res.Secrets = append(res.Secrets, e.Key)
		}
	}
	report := secrets.Validate(secrets.Input{Secrets: values, Vars: vars, Partial: true})
	res.Warnings = append(res.Warnings, report.Warnings()...)
	if !f.Global.JSON() {
		shared.PrintProblems(io, report.Problems)
	}
	if err := report.Err(); err != nil {
		return &clierr.HintError{Err: fmt.Errorf("nothing imported: %w", err), Fix: "correct the values in " + opts.File + " and run the import again", Code: clierr.ExitUsage}
	}
	if values.Len()+len(vars) == 0 {
		return &clierr.UsageError{Err: fmt.Errorf("nothing to import from %s", opts.File)}
	}

	valuesPath := opts.ValuesFile
	if valuesPath == "" {
		valuesPath = DefaultValuesFile
	}
	rel := valuesPath
	if !filepath.IsAbs(valuesPath) {
		valuesPath = filepath.Join(p.Dir, valuesPath)
	}
	if r, err := filepath.Rel(p.Dir, valuesPath); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	res.ValuesFile = rel
	if values.Len() > 0 {
		merged := map[string]string{}
		old, err := bounded.ReadFile(valuesPath, manifest.MaxFileSize)
		switch {
		case err == nil:
			list, err := manifest.ParseDotenv(valuesPath, old)
			if err != nil {
				return fmt.Errorf("merge with the existing values file: %w", err)
			}
			for _, e := range list {
				merged[e.Key] = e.Value
			}
		case !errors.Is(err, fs.ErrNotExist):
			// Never replace a values file that could not be read: its
			// values would be lost.
			return fmt.Errorf("read the existing values file %s: %w", rel, err)
		}
		for k, v := range values.Reveal() {
			merged[k] = v
		}
		if err := os.MkdirAll(filepath.Dir(valuesPath), 0o700); err != nil {
			return err
		}
		content := manifest.FormatDotenv("Secret values for moltctl.yaml's dotenv sources. Keep this file private (mode 0600); never commit it.", merged)
		// Inside the project (and outside .moltctl/, ignored as a whole),
		// the file must not be committed.
		if within(p.Dir, valuesPath) && !within(filepath.Join(p.Dir, state.DirName), valuesPath) {
			added, err := state.IgnoreInGit(valuesPath)
			if err != nil {
				return fmt.Errorf("keep %s out of git: %w", rel, err)
			}
			if added {
				fmt.Fprintf(io.ErrOut, "Added %s to %s so that git never commits it.\n", filepath.Base(valuesPath), filepath.Join(filepath.Dir(rel), ".gitignore"))
			}
		}
		if err := atomicfile.WriteFile(valuesPath, content, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
	}
	var edit manifest.Edit
	for _, n := range res.Secrets {
		edit.Secrets = append(edit.Secrets, manifest.Secret{Name: n, Source: manifest.Source{Kind: manifest.SourceDotenv, File: filepath.ToSlash(rel)}})
	}
	edit.Vars = varOrder
	if err := manifest.Apply(p.ManifestPath, edit); err != nil {
		return fmt.Errorf("update %s: %w", manifest.FileName, err)
	}

	if f.Global.JSON() {
		return cmdutil.WriteJSON(io.Out, res)
	}
	cs := io.ColorScheme()
	if len(res.Secrets) > 0 {
		fmt.Fprintf(io.Out, "%s Imported %d secrets into %s (values in %s, mode 0600): %s\n", cs.SuccessIcon(), len(res.Secrets),
			manifest.FileName, rel, strings.Join(res.Secrets, ", "))
	}
	if len(res.Vars) > 0 {
		fmt.Fprintf(io.Out, "%s Imported %d vars: %s\n", cs.SuccessIcon(), len(res.Vars), strings.Join(res.Vars, ", "))
	}
	for _, s := range res.Skipped {
		io.Warn(fmt.Sprintf("skipped %s: %s", s.Name, s.Reason))
	}
	fmt.Fprintln(io.ErrOut, "Next: moltctl secrets check, then moltctl secrets set (or moltctl deploy).")
	return nil
}

func sourceIsDeploy(m *manifest.Manifest, name string) bool {
	s, ok := m.Secret(name)
	return ok && s.Source.Kind == manifest.SourceDeploy
}

// within reports whether path is inside dir.
func within(dir, path string) bool {
	r, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(r)
}
