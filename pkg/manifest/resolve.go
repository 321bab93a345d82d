package manifest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/moltctl/moltctl/pkg/internal/bounded"
	"github.com/moltctl/moltctl/pkg/internal/shell"
	"github.com/moltctl/moltctl/pkg/prompt"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
)

// ResolveOptions are what Resolve reads values with.
type ResolveOptions struct {
	// Getenv reads environment variables (env sources, ~ in paths).
	Getenv func(string) string
	// Stdin feeds stdin sources. With one stdin source its whole content
	// is the value; with several it is read as KEY=VALUE lines. Nil (a
	// terminal) makes stdin values missing: prompted for, or an error.
	Stdin io.Reader
	// Prompter asks for missing values (masked, validated as typed). Nil
	// or prompt.NoPrompt: a missing value is an error naming the source.
	Prompter prompt.Prompter
	// Generated holds values generated earlier, by name. Newly generated
	// values are added to it; the caller keeps them (state.Credentials).
	// When nil and Store is set, Resolve loads and saves Store's
	// credentials itself.
	Generated map[string]string
	// Store keeps generated values in its credentials file (0600).
	Store *state.Store
	// Names limits resolution to these secrets; empty means all.
	Names []string
	// Warn receives warnings (a readable secrets file). Optional.
	Warn func(string)
	// Environ is the environment command sources start from, less the
	// CLOUDFLARE_* and CF_* variables they do not name in pass_env. Nil:
	// this process's environment.
	Environ []string
	// Probe checks that each value could be obtained without obtaining
	// the ones that have effects: a command source's executable is looked
	// up, not run; generate and stdin sources are taken as available; no
	// value is generated or kept.
	Probe bool
}

// ResolveError is a secret whose value could not be obtained. It names the
// secret and its source, never a value.
type ResolveError struct {
	Name   string
	Source Source
	Line   int
	Path   string
	Err    error
	Fix    string
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("%s (%s:%d, %s): %v", e.Name, e.Path, e.Line, e.Source, e.Err)
}

func (e *ResolveError) Unwrap() error { return e.Err }

// Hint says how to provide the value.
func (e *ResolveError) Hint() string { return e.Fix }

// ExitCode is 2: the input is incomplete.
func (e *ResolveError) ExitCode() int { return 2 }

// ResolveErrors are all the secrets that could not be resolved.
type ResolveErrors []*ResolveError

func (l ResolveErrors) Error() string {
	if len(l) == 1 {
		return "resolve secret " + l[0].Error()
	}
	parts := []string{fmt.Sprintf("%d secrets could not be resolved:", len(l))}
	for _, e := range l {
		parts = append(parts, "  - "+e.Error())
	}
	return strings.Join(parts, "\n")
}

// Hint is the first fix.
func (l ResolveErrors) Hint() string {
	for _, e := range l {
		if e.Fix != "" {
			return e.Fix
		}
	}
	return ""
}

// ExitCode is 2.
func (l ResolveErrors) ExitCode() int { return 2 }

// Unwrap exposes each error.
func (l ResolveErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Resolve obtains the value of every secret (or opts.Names) from its
// source. Secrets with source deploy are skipped: moltctl deploy obtains
// them (see DeployNames). Values are never passed to a process as
// arguments, and errors never contain them.
func (m *Manifest) Resolve(ctx context.Context, opts ResolveOptions) (secrets.Values, error) {
	var out secrets.Values
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	want, err := m.selected(opts.Names)
	if err != nil {
		return out, err
	}
	var creds *state.Credentials
	if opts.Generated == nil && opts.Store != nil {
		c, err := opts.Store.LoadCredentials()
		if err != nil {
			return out, fmt.Errorf("load generated secrets: %w", err)
		}
		creds = c
		opts.Generated = c.Generated
	}
	generatedNew := false

	var stdinNames []Secret
	var errs ResolveErrors
	fail := func(s Secret, err error, fix string) {
		errs = append(errs, &ResolveError{Name: s.Name, Source: s.Source, Line: s.Line, Path: m.Path, Err: err, Fix: fix})
	}
	var missing []Secret
	dotenvCache := map[string]map[string]string{}
	for _, s := range want {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		src := s.Source
		switch src.Kind {
		case SourceDeploy:
			continue
		case SourceEnv:
			if v := opts.Getenv(src.Env); v != "" {
				out.Set(s.Name, v)
			} else {
				missing = append(missing, s)
			}
		case SourceFile:
			p := m.expand(src.File, opts.Getenv)
			b, err := readSecretFile(p, opts.Warn)
			if err != nil {
				fail(s, err, fmt.Sprintf("create %s holding the value (chmod 600), or change the source of %s", p, s.Name))
				continue
			}
			v := strings.TrimSpace(string(b))
			if v == "" {
				fail(s, fmt.Errorf("%s is empty", p), fmt.Sprintf("write the value of %s into %s", s.Name, p))
				continue
			}
			if !utf8.ValidString(v) {
				fail(s, fmt.Errorf("%s is not UTF-8 text", p), fmt.Sprintf("write the value of %s into %s as text", s.Name, p))
				continue
			}
			out.Set(s.Name, v)
		case SourceDotenv:
			p := m.expand(src.File, opts.Getenv)
			entries, ok := dotenvCache[p]
			if !ok {
				b, err := readSecretFile(p, opts.Warn)
				if err != nil {
					fail(s, err, fmt.Sprintf("create %s, or change the source of %s", p, s.Name))
					continue
				}
				list, err := ParseDotenv(p, b)
				if err != nil {
					fail(s, err, "")
					continue
				}
				entries = map[string]string{}
				for _, e := range list {
					entries[e.Key] = e.Value
				}
				dotenvCache[p] = entries
			}
			key := src.Key
			if key == "" {
				key = s.Name
			}
			v, ok := entries[key]
			if !ok || v == "" {
				fail(s, fmt.Errorf("%s has no %s", p, key), fmt.Sprintf("add %s=… to %s (moltctl secrets import does it)", key, p))
				continue
			}
			out.Set(s.Name, v)
		case SourceStdin:
			if !opts.Probe {
				stdinNames = append(stdinNames, s)
			}
		case SourceCommand:
			if opts.Probe {
				if err := findCommand(m.Dir(), src); err != nil {
					fail(s, err, fmt.Sprintf("install %s or put it on PATH, or change the source of %s", src.Command[0], s.Name))
				}
				continue
			}
			v, err := runCommand(ctx, m.Dir(), src, opts.Environ)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if err != nil {
				fail(s, err, fmt.Sprintf("run the command yourself to see what is wrong, or change the source of %s (a slow command: timeout: 2m in its source)", s.Name))
				continue
			}
			out.Set(s.Name, v)
		case SourceGenerate:
			if opts.Probe {
				continue
			}
			if v := opts.Generated[s.Name]; v != "" {
				out.Set(s.Name, v)
				continue
			}
			v, err := Generate(src.Generate)
			if err != nil {
				fail(s, err, "")
				continue
			}
			if opts.Generated != nil {
				opts.Generated[s.Name] = v
				generatedNew = true
			}
			out.Set(s.Name, v)
		}
	}

	if len(stdinNames) > 0 {
		// Without a standard input to read (a terminal), stdin values are
		// missing: asked for interactively, an error otherwise.
		if opts.Stdin != nil {
			if err := readStdin(opts.Stdin, stdinNames, &out); err != nil {
				for _, s := range stdinNames {
					fail(s, err, "pipe the value into moltctl (several stdin secrets: KEY=VALUE lines)")
				}
			}
		}
		for _, s := range stdinNames {
			if !out.Has(s.Name) && !hasErr(errs, s.Name) {
				missing = append(missing, s)
			}
		}
	}

	interactive := opts.Prompter != nil
	if _, no := opts.Prompter.(prompt.NoPrompt); no {
		interactive = false
	}
	for _, s := range missing {
		if interactive {
			name := s.Name
			title := fmt.Sprintf("%s (%s)", name, secrets.KindOf(name).Format)
			v, err := opts.Prompter.Password(title, func(v string) error { return secrets.ValidateValue(name, v) })
			if err != nil {
				return out, fmt.Errorf("read %s: %w", name, err)
			}
			if v != "" {
				out.Set(name, v)
				continue
			}
		}
		var fix string
		switch s.Source.Kind {
		case SourceEnv:
			fix = fmt.Sprintf("export %s, or give %s another source in %s (line %d); on a terminal, moltctl deploy and moltctl secrets set ask for it", s.Source.Env, s.Name, filepath.Base(m.Path), s.Line)
			fail(s, fmt.Errorf("environment variable %s is not set", s.Source.Env), fix)
		default:
			fail(s, errors.New("nothing on standard input"), fmt.Sprintf("pipe the value into moltctl (several stdin secrets: KEY=VALUE lines), or run on a terminal to be asked for %s", s.Name))
		}
	}

	if generatedNew && creds != nil {
		if err := opts.Store.SaveCredentials(creds); err != nil {
			return out, fmt.Errorf("save generated secrets: %w", err)
		}
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

func hasErr(errs ResolveErrors, name string) bool {
	for _, e := range errs {
		if e.Name == name {
			return true
		}
	}
	return false
}

// selected returns the secrets to resolve.
func (m *Manifest) selected(names []string) ([]Secret, error) {
	if len(names) == 0 {
		return m.Secrets, nil
	}
	var out []Secret
	var unknown []string
	for _, n := range names {
		s, ok := m.Secret(n)
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		out = append(out, s)
	}
	if len(unknown) > 0 {
		return nil, &Error{Path: m.Path, Msg: fmt.Sprintf("%s not declared under secrets", strings.Join(unknown, ", ")),
			Fix: fmt.Sprintf("add it with a source, e.g. %s: {env: %s}", unknown[0], unknown[0])}
	}
	return out, nil
}

// expand resolves ~ and paths relative to the manifest.
func (m *Manifest) expand(p string, getenv func(string) string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home := getenv("HOME"); home != "" {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(m.Dir(), p)
	}
	return p
}

// readSecretFile reads a file holding secrets, warning when others can read it.
func readSecretFile(p string, warn func(string)) ([]byte, error) {
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", p)
	}
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", p)
	}
	// A pipe nobody writes to would hang the run; a device such as
	// /dev/zero never ends.
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && warn != nil {
		warn(fmt.Sprintf("%s holds secrets but is readable by others (mode %04o); run chmod 600 %s", p, perm, p))
	}
	b, err := bounded.ReadFile(p, MaxFileSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, fmt.Errorf("%s is larger than %d KiB", p, MaxFileSize>>10)
	}
	return b, err
}

func readStdin(r io.Reader, names []Secret, out *secrets.Values) error {
	b, err := bounded.ReadAll(r, MaxFileSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return fmt.Errorf("standard input is larger than %d KiB", MaxFileSize>>10)
	}
	if err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	if len(names) == 1 {
		if v := strings.TrimSpace(string(b)); v != "" {
			out.Set(names[0].Name, v)
		}
		return nil
	}
	entries, err := ParseDotenv("<stdin>", b)
	if err != nil {
		return err
	}
	m := map[string]string{}
	for _, e := range entries {
		m[e.Key] = e.Value
	}
	for _, s := range names {
		if v := m[s.Name]; v != "" {
			out.Set(s.Name, v)
		}
	}
	return nil
}

// Unavailable reports every secret whose value could not be obtained now (an
// unset variable, a missing file or dotenv key, a command whose executable
// is not found), without running a command, prompting or generating.
func (m *Manifest) Unavailable(ctx context.Context, getenv func(string) string) ResolveErrors {
	_, errs := m.Probe(ctx, getenv)
	return errs
}

// Probe resolves what can be read without effects (environment variables,
// files, dotenv keys; no command is run, nothing prompted or generated) and
// reports every secret whose value could not be obtained, as Unavailable.
func (m *Manifest) Probe(ctx context.Context, getenv func(string) string) (secrets.Values, ResolveErrors) {
	values, err := m.Resolve(ctx, ResolveOptions{Getenv: getenv, Probe: true})
	var errs ResolveErrors
	if errors.As(err, &errs) {
		return values, errs
	}
	return values, nil
}

// AskMissing asks p for each secret whose environment variable is unset,
// as secrets set does (masked, validated as typed), and returns the answers
// by variable name: a Getenv overlay that keeps the values in memory, never
// in the environment of a child process or a file.
func (m *Manifest) AskMissing(ctx context.Context, getenv func(string) string, p prompt.Prompter) (map[string]string, error) {
	asked := map[string]string{}
	for _, e := range m.Unavailable(ctx, getenv) {
		if e.Source.Kind != SourceEnv {
			continue
		}
		name := e.Name
		v, err := p.Password(fmt.Sprintf("%s (%s is not set)", name, e.Source.Env), func(v string) error { return secrets.ValidateValue(name, v) })
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if v != "" {
			asked[e.Source.Env] = v
		}
	}
	return asked, nil
}

// Overlay returns getenv with the values of asked in front.
func Overlay(getenv func(string) string, asked map[string]string) func(string) string {
	if len(asked) == 0 {
		return getenv
	}
	return func(k string) string {
		if v, ok := asked[k]; ok {
			return v
		}
		return getenv(k)
	}
}

// findCommand checks that a command source's executable exists; a shell
// command is only checked for the shell.
func findCommand(dir string, src Source) error {
	name := src.Command[0]
	if src.Shell {
		name = shell.Name
	}
	if strings.ContainsRune(name, filepath.Separator) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		if fi, err := os.Stat(name); err != nil || fi.IsDir() {
			return fmt.Errorf("command %s not found", src.Command[0])
		}
		return nil
	}
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("command %s not found on PATH", name)
	}
	return nil
}

// runCommand runs a command source without a shell (unless asked), with
// nothing on its standard input, within its timeout, in an environment
// without Cloudflare credentials (unless named in pass_env), and returns
// its trimmed standard output, which must be UTF-8 text.
func runCommand(ctx context.Context, dir string, src Source, environ []string) (string, error) {
	timeout := src.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	var cmd *exec.Cmd
	if src.Shell {
		cmd = shell.Command(ctx, src.Command[0])
	} else {
		cmd = exec.CommandContext(ctx, src.Command[0], src.Command[1:]...)
	}
	cmd.Dir = dir
	if environ == nil {
		environ = os.Environ()
	}
	cmd.Env = commandEnv(environ, src.PassEnv)
	// A child that keeps the output pipes open (a daemon it started) must
	// not hold the run past the timeout.
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &limitWriter{w: &stdout, n: 1 << 20}
	cmd.Stderr = &limitWriter{w: &stderr, n: 64 << 10}
	if err := cmd.Run(); err != nil {
		if parent.Err() != nil {
			return "", parent.Err()
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("the command did not finish within %s", timeout)
		}
		msg := "command failed: " + err.Error()
		// The error output is shown only when it cannot hold the value:
		// nothing came on standard output and it has no token-like run.
		if last := lastLine(stderr.String()); last != "" {
			if stdout.Len() == 0 && !tokenRE().MatchString(last) {
				msg += ": " + last
			} else {
				msg += " (its error output is not shown: it may hold the value)"
			}
		}
		return "", errors.New(msg)
	}
	v := strings.TrimSpace(stdout.String())
	if v == "" {
		return "", errors.New("the command printed nothing")
	}
	if !utf8.ValidString(v) {
		return "", errors.New("the command printed bytes that are not UTF-8 text")
	}
	return v, nil
}

// tokenRE matches a run of characters that could be a credential.
var tokenRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z0-9+/=_.:-]{24,}`) })

// commandEnv is environ without CLOUDFLARE_* and CF_* variables (the API
// token moltctl itself uses), except those named in pass.
func commandEnv(environ, pass []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "CLOUDFLARE_") || strings.HasPrefix(name, "CF_")) && !slices.Contains(pass, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return strings.ToValidUTF8(l, "?")
}

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if len(q) > l.n {
		q = q[:l.n]
	}
	l.n -= len(q)
	_, err := l.w.Write(q)
	return len(p), err
}

// Generate makes a random value in format hex<N> or base64url<N> (N
// random bytes from crypto/rand).
func Generate(format string) (string, error) {
	if format == "" {
		format = "hex32"
	}
	sm := genRE().FindStringSubmatch(format)
	if sm == nil {
		return "", fmt.Errorf("unknown generate format %q", format)
	}
	n, _ := strconv.Atoi(sm[2])
	if n < 16 || n > 128 {
		return "", fmt.Errorf("generate %q: between 16 and 128 bytes", format)
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if sm[1] == "hex" {
		return hex.EncodeToString(b), nil
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Check validates values against the catalogue with the manifest's vars,
// counting deploy-sourced secrets without a value as pending.
func (m *Manifest) Check(values secrets.Values) *secrets.Report {
	var pending []string
	for _, n := range m.DeployNames() {
		if !values.Has(n) {
			pending = append(pending, n)
		}
	}
	return secrets.Validate(secrets.Input{Secrets: values, Vars: m.Vars, Pending: pending})
}
