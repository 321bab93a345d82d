// Package list implements `moltctl secrets list`.
package list

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/secrets/shared"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// ListOptions are the inputs of secrets list.
type ListOptions struct {
	Factory *cmdutil.Factory
}

// Statuses of a secret in the list. JSON contract.
const (
	StatusOK         = "ok"         // on Cloudflare, as last set
	StatusChanged    = "changed"    // the local value changed since the last set
	StatusMissing    = "missing"    // in moltctl.yaml, not on Cloudflare
	StatusExtra      = "extra"      // on Cloudflare, not in moltctl.yaml
	StatusUntracked  = "untracked"  // on Cloudflare, but not set by moltctl from this machine
	StatusDeploy     = "deploy"     // on Cloudflare, set by moltctl deploy
	StatusUnresolved = "unresolved" // the local value cannot be read now
)

var statusText = map[string]string{
	StatusOK:         "up to date",
	StatusChanged:    "changed locally since last set",
	StatusMissing:    "missing on Cloudflare",
	StatusExtra:      "not in moltctl.yaml",
	StatusUntracked:  "set outside moltctl (no digest)",
	StatusDeploy:     "set by moltctl deploy",
	StatusUnresolved: "local value unavailable",
}

// Row is one secret. JSON contract.
type Row struct {
	Name         string `json:"name"`
	Source       string `json:"source,omitempty"`
	InManifest   bool   `json:"in_manifest"`
	OnCloudflare bool   `json:"on_cloudflare"`
	Status       string `json:"status"`
}

// Result is the list. JSON contract.
type Result struct {
	Worker  string `json:"worker"`
	Secrets []Row  `json:"secrets"`
}

// NewCmdList returns the list command; runF replaces the run in tests.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the Worker's secrets beside moltctl.yaml",
		Long: `List the names of the Worker's secrets on Cloudflare beside those declared in
moltctl.yaml: in both, missing on Cloudflare, or extra. For secrets moltctl
set, it compares a keyed digest of the current local value with the digest of
the value last sent, and says "changed locally since last set" when they
differ. Values are never shown.`,
		Example: `  $ moltctl secrets list
  $ moltctl secrets list --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
}

func listRun(ctx context.Context, opts *ListOptions) error {
	f := opts.Factory
	io := f.IOStreams
	p, err := shared.LoadProject(f)
	if err != nil {
		return err
	}
	m, err := p.Manifest()
	if errors.Is(err, manifest.ErrNotFound) {
		m, err = &manifest.Manifest{Path: p.ManifestPath}, nil
		io.Warn(fmt.Sprintf("no %s: every secret on Cloudflare is listed as extra", manifest.FileName))
	}
	if err != nil {
		return err
	}
	rs, err := shared.LoadRemoteState(ctx, f, p)
	if err != nil {
		return err
	}
	onRemote, d, key, creds := rs.OnRemote, rs.Deployment, rs.DigestKey, rs.Credentials

	res := &Result{Worker: p.Worker, Secrets: []Row{}}
	for _, s := range m.Secrets {
		row := Row{Name: s.Name, Source: s.Source.String(), InManifest: true, OnCloudflare: onRemote[s.Name]}
		switch {
		case !row.OnCloudflare:
			row.Status = StatusMissing
		case s.Source.Kind == manifest.SourceDeploy:
			row.Status = StatusDeploy
		case d.Secrets[s.Name] == "" || rs.Locked():
			// Locked: the digests' key is sealed to a key this machine lacks.
			row.Status = StatusUntracked
		default:
			row.Status = localStatus(ctx, m, s, key, d.Secrets[s.Name], creds.Generated, f.Getenv)
		}
		res.Secrets = append(res.Secrets, row)
	}
	var extra []string
	for n := range onRemote {
		if _, ok := m.Secret(n); !ok {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		res.Secrets = append(res.Secrets, Row{Name: n, OnCloudflare: true, Status: StatusExtra})
	}
	// An interrupted resolution reads as "unresolved": print nothing
	// rather than a list that looks complete.
	if ctx.Err() != nil {
		return &clierr.InterruptedError{}
	}

	if f.Global.JSON() {
		return cmdutil.WriteJSON(io.Out, res)
	}
	if len(res.Secrets) == 0 {
		fmt.Fprintf(io.ErrOut, "No secrets on %s and none in %s.\n", p.Worker, manifest.FileName)
		return nil
	}
	tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
	if io.IsStdoutTTY() {
		fmt.Fprintln(tw, "NAME\tSOURCE\tCLOUDFLARE\tSTATUS")
	}
	cs := io.ColorScheme()
	for _, r := range res.Secrets {
		on := "no"
		if r.OnCloudflare {
			on = "yes"
		}
		src := r.Source
		if src == "" {
			src = "-"
		}
		st := statusText[r.Status]
		switch r.Status {
		case StatusMissing, StatusChanged:
			st = cs.Yellow(st)
		case StatusExtra, StatusUnresolved, StatusUntracked:
			st = cs.Gray(st)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, src, on, st)
	}
	return tw.Flush()
}

// localStatus compares the current local value's digest with the one last
// sent. It never prompts and never generates a value.
func localStatus(ctx context.Context, m *manifest.Manifest, s manifest.Secret, key []byte, sent string,
	generated map[string]string, getenv func(string) string) string {
	if s.Source.Kind == manifest.SourceStdin {
		return StatusUnresolved
	}
	if s.Source.Kind == manifest.SourceGenerate && generated[s.Name] == "" {
		return StatusChanged // it will be generated anew
	}
	gen := map[string]string{}
	for k, v := range generated {
		gen[k] = v
	}
	vals, err := m.Resolve(ctx, manifest.ResolveOptions{Getenv: getenv, Generated: gen, Names: []string{s.Name}})
	if err != nil {
		return StatusUnresolved
	}
	v, ok := vals.Get(s.Name)
	if !ok {
		return StatusUnresolved
	}
	if secrets.Digest(key, v) != sent {
		return StatusChanged
	}
	return StatusOK
}
