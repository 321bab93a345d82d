// Package set implements `moltctl secrets set`.
package set

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/secrets/shared"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/internal/bounded"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/prompt"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// SetOptions are the inputs of secrets set.
type SetOptions struct {
	Factory *cmdutil.Factory
	Names   []string
	Force   bool
	// NoRestart leaves the gateway running with the old values.
	NoRestart bool
}

// Result is what secrets set did; its JSON names are a contract.
type Result struct {
	Worker    string            `json:"worker"`
	Sent      []string          `json:"sent"`
	Unchanged []string          `json:"unchanged"`
	Pending   []string          `json:"set_by_deploy,omitempty"`
	Warnings  []secrets.Problem `json:"warnings"`
}

// NewCmdSet returns the set command; runF replaces the run in tests.
func NewCmdSet(f *cmdutil.Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "set [NAME | NAME=VALUE | NAME=- ...]",
		Short: "Send secrets from moltctl.yaml's sources to the Worker",
		Long: `Read each secret from its source in moltctl.yaml, validate every value
(format, swapped names, required names and groups), and send the ones that
changed since the last set in one request. Nothing is sent while any check
fails. With NAMEs, only those secrets are read and sent.

On a terminal, a secret whose value is missing (an unset environment
variable, empty standard input) is asked for with a masked prompt that
validates as you type. Otherwise the command fails naming the source to fix.

NAME=VALUE sends VALUE for NAME in place of its source, the way fly and
wrangler users type it; a value on the command line stays in your shell's
history, so prefer NAME=-, which reads the value from standard input (or
asks for it on a terminal). A NAME not in moltctl.yaml is sent too, and
then listed as extra: give it a source to keep it current.

After a change, a running gateway is restarted so that it reads the new
values (--no-restart leaves it, and moltctl status then says it runs with
the old ones). Secrets whose source is deploy are set by moltctl deploy.`,
		Example: `  # send every changed secret
  $ moltctl secrets set

  # send one, even if unchanged
  $ moltctl secrets set ANTHROPIC_API_KEY --force

  # a secret with source stdin
  $ op read op://private/anthropic/key | moltctl secrets set ANTHROPIC_API_KEY

  # a value from standard input, whatever the source
  $ pbpaste | moltctl secrets set TELEGRAM_BOT_TOKEN=-`,
		ValidArgsFunction: f.CompleteSecretNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return setRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "send every selected secret, changed or not")
	cmd.Flags().BoolVar(&opts.NoRestart, "no-restart", false, "do not restart a running gateway after a change (it keeps the old values until it restarts)")
	return cmd
}

func setRun(ctx context.Context, opts *SetOptions) error {
	f := opts.Factory
	io := f.IOStreams
	p, err := shared.LoadProject(f)
	if err != nil {
		return err
	}
	// The lock comes before anything is resolved, generated or written: a
	// second run must not generate a value of its own meanwhile.
	unlock, err := p.Store.Lock(ctx, "moltctl secrets set", false)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := p.Manifest()
	if err != nil {
		return err
	}
	res := &Result{Worker: p.Worker, Sent: []string{}, Unchanged: []string{}, Warnings: []secrets.Problem{}}
	names, given, err := splitArgs(opts.Names)
	if err != nil {
		return err
	}
	for _, n := range append(append([]string{}, names...), given.Names()...) {
		s, ok := m.Secret(n)
		if !ok && given.Has(n) {
			io.WarnOnce(fmt.Sprintf("%s is not in %s: it is sent, and listed as extra until you give it a source there", n, manifest.FileName))
			continue
		}
		if !ok {
			return &clierr.UsageError{Err: fmt.Errorf("%s is not declared under secrets in %s", n, m.Path),
				Fix: fmt.Sprintf("add it with a source, e.g. %s: {env: %s}, or pass %s=- and pipe the value in", n, n, n)}
		}
		if s.Source.Kind == manifest.SourceDeploy {
			return &clierr.UsageError{Err: fmt.Errorf("%s comes from Cloudflare (source deploy)", n), Fix: "run moltctl deploy to set it"}
		}
	}
	// The state (generated values included) is read from the account, with
	// the deploy lease held, before anything is resolved: a value another
	// checkout generated is used, not made anew.
	rs, err := shared.HoldRemoteState(ctx, f, p, "moltctl secrets set")
	if err != nil {
		return err
	}
	defer rs.Release()
	// Values are asked for only now that the Worker is known to exist.
	if err := readGiven(f, &given); err != nil {
		return err
	}
	resolveAll := len(names) == 0 && given.Len() == 0
	if rs.Locked() {
		if names, err = withoutGenerated(m, names, resolveAll, io.Warn); err != nil {
			return err
		}
		resolveAll = false
	}
	var values secrets.Values
	if len(names) > 0 || resolveAll {
		values, err = shared.Resolve(ctx, f, p, m, names, rs.Credentials)
		if err != nil {
			return err
		}
	}
	for _, n := range given.Names() {
		v, _ := given.Get(n)
		values.Set(n, v)
	}
	var report *secrets.Report
	if len(opts.Names) > 0 || rs.Locked() {
		report = secrets.Validate(secrets.Input{Secrets: values, Vars: m.Vars, Partial: true})
	} else {
		report = m.Check(values)
		res.Pending = m.DeployNames()
	}
	res.Warnings = append(res.Warnings, report.Warnings()...)
	if !f.Global.JSON() {
		shared.PrintProblems(io, report.Warnings())
	}
	if err := report.Err(); err != nil {
		return err
	}

	c, onRemote, d, key := rs.Client, rs.OnRemote, rs.Deployment, rs.DigestKey
	send := map[string]string{}
	digests := map[string]string{}
	for _, n := range values.Names() {
		v, _ := values.Get(n)
		dg := secrets.Digest(key, v)
		if !opts.Force && onRemote[n] && d.Secrets[n] == dg && !rs.Locked() {
			res.Unchanged = append(res.Unchanged, n)
			continue
		}
		send[n] = v
		digests[n] = dg
		res.Sent = append(res.Sent, n)
	}
	if len(send) > 0 {
		if !f.Global.JSON() {
			io.StartProgress(fmt.Sprintf("Sending %d secrets to %s", len(send), p.Worker))
		}
		err := c.BulkSecrets(ctx, p.Worker, send, nil)
		io.StopProgress()
		if err != nil {
			return shared.WorkerMissing(err, p.Worker)
		}
		if d.AccountID == "" {
			d.AccountID = c.AccountID()
		}
		if d.WorkerName == "" {
			d.WorkerName = p.Worker
		}
		for n, dg := range digests {
			if rs.Locked() {
				// No digest key here: the next deploy with the key records it.
				delete(d.Secrets, n)
				continue
			}
			d.Secrets[n] = dg
		}
	}
	restarted := false
	if len(send) > 0 {
		// The change made a new version: record it as moltctl's own, so
		// status does not take it for a deploy made another way. Read it
		// while the gateway is restarted: neither waits for the other.
		var version string
		var wg sync.WaitGroup
		wg.Go(func() { version, _ = c.DeployedVersion(ctx, p.Worker) })
		restarted = restartGateway(ctx, f, rs, opts.NoRestart)
		wg.Wait()
		if version != "" {
			d.Worker.VersionID = version
		}
	}
	// Also when nothing was sent: a value generated now is kept.
	if err := rs.Save(ctx); err != nil {
		return fmt.Errorf("record what was sent: %w", err)
	}

	if f.Global.JSON() {
		return cmdutil.WriteJSON(io.Out, res)
	}
	cs := io.ColorScheme()
	if len(res.Sent) > 0 {
		fmt.Fprintf(io.Out, "%s Set %d %s on %s: %s\n", cs.SuccessIcon(), len(res.Sent), plural(len(res.Sent)), p.Worker, strings.Join(res.Sent, ", "))
	}
	if len(res.Unchanged) > 0 {
		fmt.Fprintf(io.Out, "%s %d unchanged since the last set: %s (--force sends them again)\n", cs.SkippedIcon(), len(res.Unchanged), strings.Join(res.Unchanged, ", "))
	}
	if len(res.Sent) == 0 && len(res.Unchanged) == 0 {
		fmt.Fprintln(io.Out, "No secrets to send.")
	}
	if len(res.Sent) > 0 && !restarted && rs.Deployment.StaleGatewayProcess != "" {
		fmt.Fprintf(io.ErrOut, "The running gateway keeps the old values until it restarts: run %s to apply them now.\n", f.Command("restart"))
	}
	return nil
}

// restartGateway restarts a running gateway so that it reads the secrets
// just sent, without waiting for it to come back. A gateway that is not
// running reads them when it starts. When it is left running (noRestart,
// or the restart could not be asked for), its process is recorded so that
// status can say it has the old values. It reports whether it restarted.
func restartGateway(ctx context.Context, f *cmdutil.Factory, rs *shared.RemoteState, noRestart bool) bool {
	d := rs.Deployment
	if d.URL == "" {
		return false
	}
	var secret string
	if rs.Credentials != nil {
		secret = rs.Credentials.ServiceTokenClientSecret
	}
	c := assistant.New(d.URL, assistant.ServiceToken{ClientID: d.Access.ServiceTokenClientID, ClientSecret: secret}, f.HTTPClient)
	c.UserAgent = "moltctl"
	st, err := c.Status(ctx)
	if err != nil || st.Status != assistant.StatusRunning {
		return false
	}
	if !noRestart && c.HasToken() {
		_, err := c.Restart(ctx)
		if err == nil {
			d.StaleGatewayProcess = ""
			if !f.Global.JSON() {
				fmt.Fprintf(f.IOStreams.ErrOut, "%s Restarting the gateway so it reads the new values (%s shows when it is back)\n",
					f.IOStreams.ColorScheme().SuccessIcon(), f.Command("status --wait 3m"))
			}
			return true
		}
		f.IOStreams.Warn("could not restart the gateway: " + err.Error())
	}
	d.StaleGatewayProcess = st.ProcessID
	return false
}

// withoutGenerated drops the secrets moltctl generates from names (from
// every declared one when all): their values are sealed in the account to
// a key this machine lacks, and making new ones would replace them.
func withoutGenerated(m *manifest.Manifest, names []string, all bool, warn func(string)) ([]string, error) {
	if all {
		names = m.Names()
	}
	var out, kept []string
	for _, n := range names {
		s, ok := m.Secret(n)
		switch {
		case ok && s.Source.Kind == manifest.SourceGenerate && !all:
			return nil, clierr.WithHint(fmt.Errorf("%s is generated by moltctl and sealed in the account to a key this machine lacks", n),
				"run it where the key is, or set $"+remotestate.EnvKey+" (docs/state.md)")
		case ok && s.Source.Kind == manifest.SourceGenerate:
			kept = append(kept, n)
		case ok && s.Source.Kind == manifest.SourceDeploy:
		default:
			out = append(out, n)
		}
	}
	if len(kept) > 0 {
		warn(strings.Join(kept, ", ") + ": kept as the Worker has it (the key is not here to read it)")
	}
	return out, nil
}

func plural(n int) string {
	if n == 1 {
		return "secret"
	}
	return "secrets"
}

// fromStdin is the value of NAME=-: read it from standard input.
const fromStdin = "-"

// splitArgs separates NAME arguments (resolved from moltctl.yaml) from
// NAME=VALUE and NAME=- ones (given). An argument is never repeated in an
// error unless it is a plausible name: it may be a value typed in the
// wrong place.
func splitArgs(args []string) (names []string, given secrets.Values, err error) {
	stdin := ""
	for i, a := range args {
		name, value, isAssign := strings.Cut(a, "=")
		if !secrets.ValidName(name) || len(name) > 40 {
			what := "NAME"
			if isAssign {
				what = "NAME=VALUE"
			}
			return nil, given, &clierr.UsageError{Err: fmt.Errorf("argument %d is not %s (not shown: it may be a value)", i+1, what),
				Fix: "pass secret names as in moltctl.yaml, e.g. moltctl secrets set ANTHROPIC_API_KEY, or ANTHROPIC_API_KEY=- to read the value from standard input"}
		}
		if !isAssign {
			names = append(names, name)
			continue
		}
		if strings.TrimSpace(value) == "" {
			return nil, given, &clierr.UsageError{Err: fmt.Errorf("%s=: the value is empty", name),
				Fix: fmt.Sprintf("to delete the secret: moltctl secrets unset %s", name)}
		}
		if value == fromStdin {
			if stdin != "" {
				return nil, given, &clierr.UsageError{Err: fmt.Errorf("%s=- and %s=-: only one value can come from standard input", stdin, name),
					Fix: "set them one at a time, or give them sources in moltctl.yaml"}
			}
			stdin = name
		}
		given.Set(name, value)
	}
	// A name given a value is not also resolved.
	names = slices.DeleteFunc(names, given.Has)
	return names, given, nil
}

// readGiven warns once when values came on the command line, and reads
// the NAME=- value from standard input (asking for it on a terminal).
func readGiven(f *cmdutil.Factory, given *secrets.Values) error {
	io := f.IOStreams
	for _, n := range given.Names() {
		v, _ := given.Get(n)
		if v != fromStdin {
			io.WarnOnce("a value on the command line stays in your shell's history: prefer NAME=- and pipe it in, or a source in moltctl.yaml")
			continue
		}
		if io.IsStdinTTY() {
			p := f.Prompter()
			if _, no := p.(prompt.NoPrompt); no {
				return &clierr.UsageError{Err: fmt.Errorf("%s=-: nothing on standard input", n), Fix: fmt.Sprintf("pipe the value in: … | moltctl secrets set %s=-", n)}
			}
			v, err := p.Password(n, func(v string) error { return secrets.ValidateValue(n, v) })
			if err != nil {
				return fmt.Errorf("read %s: %w", n, err)
			}
			given.Set(n, v)
			continue
		}
		b, err := bounded.ReadAll(io.In, manifest.MaxFileSize)
		if errors.Is(err, bounded.ErrTooLarge) {
			return &clierr.UsageError{Err: fmt.Errorf("%s=-: standard input is larger than %d KiB", n, manifest.MaxFileSize>>10)}
		}
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		v = strings.TrimSpace(string(b))
		if v == "" {
			return &clierr.UsageError{Err: fmt.Errorf("%s=-: nothing on standard input", n), Fix: fmt.Sprintf("pipe the value in: … | moltctl secrets set %s=-", n)}
		}
		given.Set(n, v)
	}
	return nil
}
