package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/lease"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// PrepareInputs are what a deploy is asked to do, from the command's flags,
// and the clients it does it with, from the command's Factory.
type PrepareInputs struct {
	// Config is the project's wrangler configuration (the build output's
	// when there is one), loaded by the command from --config and --env.
	Config *wrangler.Config
	// NoManifest is called when the project has no moltctl.yaml; it
	// returns the manifest it had written (init's form on a terminal) or
	// the error naming the command that writes one.
	NoManifest func(ctx context.Context, projectDir string) (*manifest.Manifest, error)
	// AskMissing, when set, asks for the values of the secrets whose source
	// gives none (on a terminal) and returns them by name; they are read
	// from memory by the checks and the secrets step, never written.
	AskMissing func(ctx context.Context, m *manifest.Manifest) (map[string]string, error)
	// AccountID is --account or CLOUDFLARE_ACCOUNT_ID; "" means the one
	// account the token can see.
	AccountID string
	Options   Options
	// DryRun changes nothing: no lock, no lease, no state written.
	DryRun bool
	// WaitLock waits for another deploy of the Worker to finish instead of
	// refusing; Lease tunes the account-wide lease (tests shorten it).
	WaitLock bool
	Lease    lease.Options
	// Permanent allows fixes that cannot be undone (registering the
	// workers.dev name): --yes, or a confirmation on a terminal.
	Permanent bool
	// Checks are the preflight checks' clients (Docker, the clock, the
	// emulator's SecretMatcher); Prepare fills in the project.
	Checks preflight.Inputs
	// Deps are the clients the steps use. Prepare points Deps.API at the
	// account and overlays AskMissing's answers on Getenv. Without a
	// client, APIErr says why (no token); Prepare returns it once the
	// project loaded, so that the project's own errors come first.
	Deps   Deps
	APIErr error
	// Colors renders the checklist a blocked deploy prints.
	Colors *iostreams.ColorScheme
}

// Prepared is a deploy ready to plan or run: the project, the account and
// the saved state loaded once, and handed to the checks and the steps.
// Close releases what it holds.
type Prepared struct {
	State *State
	// Checks are the preflight inputs: the same project the steps deploy.
	Checks preflight.Inputs

	in      PrepareInputs
	keeper  *remotestate.Keeper
	store   *state.Store
	unlock  func()
	release func()
	// planned is the saved state as read before the lease (JSON), to tell
	// whether another deploy changed it before this one took the lease.
	planned []byte
	held    bool
	// gatesPassed: the checks that guard writes ran in this run and none
	// blocks, so hold need not ask them again.
	gatesPassed bool
	// env is the preflight step's, whose shared reads the gates use.
	env *preflight.Env
	// warnedAccount: the state of another account was named once.
	warnedAccount bool
}

// Prepare loads what a deploy reads (moltctl.yaml, the account, the saved
// state in the account) once, takes this checkout's lock unless it is a
// dry run, and builds the State the checks and the steps share. The
// account-wide lease is not taken here: the runner takes it before the
// first change (Hold), so a deploy with nothing to change never takes it.
func Prepare(ctx context.Context, in PrepareInputs) (*Prepared, error) {
	cfg, api := in.Config, in.Deps.API
	if cfg.Name == "" {
		return nil, &clierr.UsageError{Err: fmt.Errorf("%s has no \"name\"", cfg.Path), Fix: "set name to the Worker's name (moltworker: moltbot-sandbox)"}
	}
	projectDir := cfg.ProjectDir()
	man, err := manifest.Load(manifest.Path(projectDir))
	if errors.Is(err, manifest.ErrNotFound) && in.NoManifest != nil {
		man, err = in.NoManifest(ctx, projectDir)
	}
	if err != nil {
		return nil, err
	}
	if api == nil {
		if in.APIErr == nil {
			in.APIErr = errors.New("deploy: no API client")
		}
		return nil, in.APIErr
	}
	accountID, err := resolveAccount(ctx, api, in.AccountID)
	if err != nil {
		return nil, err
	}
	api.SetAccountID(accountID)

	p := &Prepared{in: in, unlock: func() {}, release: func() {}}
	prepared := false
	defer func() {
		if !prepared {
			p.Close()
		}
	}()
	if p.store, err = state.Open(projectDir, cfg.Name); err != nil {
		return nil, err
	}
	if !in.DryRun {
		unlock, err := p.store.Lock(ctx, in.Options.Resume, in.WaitLock)
		if err != nil {
			return nil, err
		}
		p.unlock = unlock
	}
	if p.keeper, err = remotestate.NewKeeper(api, p.store, cfg.Name, in.Deps.Getenv, in.Deps.Warn); err != nil {
		return nil, err
	}
	saved, err := p.load(ctx, accountID)
	if err != nil {
		return nil, err
	}
	p.planned = savedJSON(saved)
	deps := in.Deps
	deps.Reads = &Reads{}
	if man != nil && in.AskMissing != nil {
		asked, err := in.AskMissing(ctx, man)
		if err != nil {
			return nil, err
		}
		deps.Getenv = manifest.Overlay(deps.Getenv, asked)
	}
	if deps.Image == nil {
		return nil, errors.New("deploy: no image builder")
	}
	st := &State{
		In:    Inputs{Config: cfg, Manifest: man, AccountID: accountID, Options: in.Options},
		Deps:  deps,
		Saved: saved,
	}
	p.State = st
	p.Checks = in.Checks
	p.Checks.Project = preflight.Project{Config: cfg, Manifest: man, State: saved.Dep, StateKey: saved.HMACKey}
	p.Checks.API, p.Checks.AccountID, p.Checks.Getenv = api, accountID, deps.Getenv
	if in.Options.SkipBuild {
		p.Checks.Docker = nil // nothing is built
	}
	st.Deps.Preflight = p.preflight
	if !in.DryRun {
		st.Deps.Hold = p.hold
	}
	prepared = true
	return p, nil
}

// Close releases the lease (when it was taken) and the checkout's lock.
func (p *Prepared) Close() {
	p.release()
	p.unlock()
}

// resolveAccount returns id, or the one account the token can see.
func resolveAccount(ctx context.Context, api *cfapi.Client, id string) (string, error) {
	if id != "" {
		return id, nil
	}
	a, err := api.OnlyAccount(ctx)
	if err != nil {
		return "", fmt.Errorf("list accounts: %w", err)
	}
	return a.ID, nil
}

// load reads the saved state (from the account, through the keeper) for
// a deploy to accountID; a state of another account is not this deploy's.
func (p *Prepared) load(ctx context.Context, accountID string) (Saved, error) {
	cfg := p.in.Config
	dep, creds, err := p.keeper.Load(ctx)
	if err != nil {
		return Saved{}, err
	}
	if dep.AccountID != "" && dep.AccountID != accountID {
		if !p.warnedAccount && p.in.Deps.Warn != nil {
			p.in.Deps.Warn(fmt.Sprintf("the last deploy of %s went to account %s; deploying to %s", cfg.Name, dep.AccountID, accountID))
		}
		p.warnedAccount = true
		dep = &state.Deployment{SchemaVersion: state.SchemaVersion, Secrets: map[string]string{}}
	}
	dep.AccountID, dep.WorkerName, dep.Env = accountID, cfg.Name, cfg.EnvName
	return Saved{Keeper: p.keeper, Store: p.store, Dep: dep, Creds: creds, HMACKey: p.keeper.DigestKey}, nil
}

// savedJSON is the saved state in a comparable form.
func savedJSON(s Saved) []byte {
	b, _ := json.Marshal(struct {
		Dep   *state.Deployment
		Creds *state.Credentials
	}{s.Dep, s.Creds})
	return b
}

// gates are the checks that only guard writes: the token's permissions,
// the plan (Workers Paid, Containers) and the account. A deploy with
// nothing to change needs none of them, so the steps ask them just before
// the first change (hold); the dry run and the confirmation on a terminal
// ask every check, so both still show what would block.
var gates = []string{preflight.IDPermissions, preflight.IDPlan, preflight.IDAccount}

func isGate(id string) bool {
	for _, g := range gates {
		if g == id {
			return true
		}
	}
	return false
}

// stepChecks are the checks the preflight step runs: all but the gates.
func stepChecks() []preflight.Check {
	var out []preflight.Check
	for _, c := range preflight.Standard() {
		if !isGate(c.ID) {
			out = append(out, c)
		}
	}
	return out
}

// Verdict is what the checks say of a deploy before it runs (the dry run,
// the confirmation on a terminal): every check, nothing fixed.
type Verdict struct {
	Report *preflight.Report
	// Blockers are the checks that stop the deploy, when its fixes cannot
	// clear them all; Fixes say what the deploy fixes first otherwise.
	Blockers []string
	Fixes    []string
	// Text is the checklist, for a deploy that stops.
	Text string
}

// Preview runs every check on what Prepare loaded and changes nothing.
func (p *Prepared) Preview(ctx context.Context) *Verdict {
	r := preflight.Run(ctx, preflight.Standard(), preflight.NewEnv(p.Checks))
	v := &Verdict{Report: r}
	fixes := Fixes(r, p.in.Permanent)
	for _, c := range fixes {
		v.Fixes = append(v.Fixes, c.Action.Summary)
	}
	if len(fixes) == 0 {
		v.Blockers = Blockers(r)
	}
	var b bytes.Buffer
	preflight.RenderChecks(&b, p.in.Colors, r)
	v.Text = b.String()
	return v
}

// preflight is the preflight step's Preflighter: the checks but the gates,
// on what Prepare loaded, and the fixes that clear every blocker, applied
// under the lease. What the checks read from the API is handed to the
// steps (st.Deps.Reads), which then do not ask again.
func (p *Prepared) preflight(ctx context.Context, st *State) ([]string, string, error) {
	checks := stepChecks()
	env := preflight.NewEnv(p.Checks)
	p.env = env
	handIn(st.Deps.Reads, env)
	r := preflight.Run(ctx, checks, env)
	if len(Blockers(r)) > 0 {
		// Something blocks: every check, the gates too, so that fixes are
		// applied only when they clear every blocker, and the report names
		// every problem at once (what the others read is not asked again).
		r = preflight.Run(ctx, preflight.Standard(), env)
	}
	var b bytes.Buffer
	if fixes := Fixes(r, p.in.Permanent); len(fixes) > 0 {
		p.gatesPassed = true // r has them, and a gate that fails leaves no fix
		if err := p.hold(ctx); err != nil {
			return nil, "", err
		}
		preflight.ApplyFixes(ctx, env, fixes, func(c preflight.Outcome, err error) {
			if err != nil {
				fmt.Fprintf(&b, "%s %s: %v\n", p.in.Colors.FailureIcon(), c.Action.Summary, err)
				return
			}
			st.Deps.logf("%s preflight: %s (%s)", p.in.Colors.SuccessIcon(), c.Action.Summary, c.ID)
		})
		r = preflight.Run(ctx, preflight.Standard(), env)
	}
	handOff(env, st.Deps.Reads)
	preflight.RenderChecks(&b, p.in.Colors, r)
	return Blockers(r), b.String(), nil
}

// handIn gives the checks what the steps already read in this run (the
// runner asks every step's Skip at once, before the preflight step runs).
func handIn(reads *Reads, env *preflight.Env) {
	for key, fact := range map[string]string{ReadSubdomain: preflight.FactSubdomain, ReadBuckets: preflight.FactBuckets,
		ReadAccessOrg: preflight.FactAccessOrg, ReadAccessApps: preflight.FactAccessApps} {
		if v, ok := reads.remembered(key); ok {
			env.Know(fact, v)
		}
	}
	if v, ok := reads.remembered(ReadSecretNames); ok {
		if names, ok := v.([]string); ok {
			env.KnowWorkerSecrets(names)
		}
	}
}

// handOff remembers for the steps what the checks read from the API.
func handOff(env *preflight.Env, reads *Reads) {
	if v, ok := env.Fact(preflight.FactSubdomain); ok {
		if sub, _ := v.(string); sub != "" {
			reads.Remember(ReadSubdomain, sub)
		}
	}
	if v, ok := env.Fact(preflight.FactBuckets); ok {
		reads.Remember(ReadBuckets, v)
	}
	if v, ok := env.Fact(preflight.FactAccessOrg); ok {
		if o, _ := v.(*cfapi.AccessOrganization); o != nil {
			reads.Remember(ReadAccessOrg, o)
		}
	}
	if v, ok := env.Fact(preflight.FactAccessApps); ok {
		reads.Remember(ReadAccessApps, v)
	}
	if names, ok := env.WorkerSecrets(); ok {
		reads.Remember(ReadSecretNames, names)
	}
}

// hold is called before the first change of a run (Deps.Hold): the checks
// that guard writes, then the account-wide lease, then the saved state read
// again under it. When another deploy changed the state in between, what
// this run worked out from it is worked out again, and every remembered
// read is dropped. It does its work once.
func (p *Prepared) hold(ctx context.Context) error {
	if p.held {
		return nil
	}
	st := p.State
	if !p.gatesPassed {
		env := p.env // what the preflight step's checks learned (the token, the account)
		if env == nil {
			env = preflight.NewEnv(p.Checks)
		}
		r := preflight.Run(ctx, preflight.Select(preflight.Standard(), gates...), env)
		if blockers := Blockers(r); len(blockers) > 0 {
			var b bytes.Buffer
			preflight.RenderChecks(&b, p.in.Colors, r)
			st.Deps.logf("%s", strings.TrimRight(b.String(), "\n"))
			return PreflightError(blockers)
		}
	}
	o := p.in.Lease
	o.Wait = p.in.WaitLock
	warn := func(msg string) { st.Deps.warn("%s", msg) }
	release, err := lease.Hold(ctx, st.Deps.API, p.store, st.WorkerName(), st.In.Options.Resume, o, warn)
	if err != nil {
		return err
	}
	p.release, p.held = release, true
	if !p.keeper.Remote {
		return nil // the state is this checkout's alone, guarded by its lock
	}
	saved, err := p.load(ctx, st.In.AccountID) // the keeper says each warning once
	if err != nil {
		return err
	}
	if bytes.Equal(savedJSON(saved), p.planned) {
		return nil
	}
	// Another deploy changed the state after this one read it.
	st.Saved = saved
	p.Checks.State, p.Checks.StateKey = saved.Dep, saved.HMACKey
	st.Learned = Learned{Details: st.Learned.Details}
	st.Deps.Reads = &Reads{}
	if err := st.learn(ctx); err != nil && unreachable(err) {
		return err
	}
	return st.resolveValues(ctx)
}

// PreflightError is the error of a deploy the checks stop: nothing was
// changed.
func PreflightError(blockers []string) error {
	return &clierr.HintError{Err: fmt.Errorf("preflight checks failed (%s); nothing was changed", strings.Join(blockers, ", ")),
		Fix: "fix what the checks above name (moltctl doctor shows each fix), then run the same command again", Code: preflight.ExitCode(blockers)}
}
