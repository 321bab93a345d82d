package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/buildinfo"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/state"
)

// Step statuses in results.
const (
	StatusDone    = "done"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
	StatusPending = "pending"
	StatusChange  = "change"
)

// StepResult is what one step did.
type StepResult struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Detail     string `json:"detail,omitempty"`
}

// Progress shows a deploy as it happens.
type Progress interface {
	Start(name, what string)
	Done(r StepResult)
}

// Runner runs steps in order.
type Runner struct {
	Steps    []Step
	Progress Progress
	// Attempts bounds how often a step that failed on a transient error
	// (429, 5xx, a dropped connection) is run again; steps are idempotent,
	// so running one again is safe. Default 4.
	Attempts int
	// Backoff is the first pause between attempts (doubles). Default 1s.
	Backoff time.Duration
	// OnStepStart, when set, is called as each step starts (tests
	// interrupt a deploy there).
	OnStepStart func(name string)
}

// StepError is a step that failed: what failed, what was already applied,
// and the command that resumes.
type StepError struct {
	Step    string
	Err     error
	Applied []string
	Resume  string
}

func (e *StepError) Error() string { return fmt.Sprintf("deploy step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// Hint names what was applied and how to continue.
func (e *StepError) Hint() string {
	var b strings.Builder
	if h := clierr.HintOf(e.Err); h != "" {
		b.WriteString(h)
		b.WriteString("\n")
	}
	if len(e.Applied) > 0 {
		b.WriteString("already applied: " + strings.Join(e.Applied, ", ") + "\n")
	}
	b.WriteString("fix the cause, then run the same command to continue")
	if e.Resume != "" {
		b.WriteString(": " + e.Resume)
	}
	return b.String()
}

// ExitCode follows the underlying error (3 for a failed preflight).
func (e *StepError) ExitCode() int { return clierr.ExitCodeOf(e.Err) }

// Run runs every step. Results cover the steps that ran (and the one that
// failed). A cancelled ctx stops at once with *clierr.InterruptedError.
func (r *Runner) Run(ctx context.Context, st *State) ([]StepResult, error) {
	attempts := r.Attempts
	if attempts == 0 {
		attempts = 4
	}
	backoff := r.Backoff
	if backoff == 0 {
		backoff = time.Second
	}
	// retry runs f again after a transient failure: steps and saving the
	// state are idempotent.
	retry := func(f func() error, what string) error {
		for attempt := 1; ; attempt++ {
			err := f()
			if err == nil || ctx.Err() != nil || attempt >= attempts || !Transient(err) {
				return err
			}
			st.Deps.warn("%s: %v; trying again", what, err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff << (attempt - 1)):
			}
		}
	}
	save := func() error { return retry(func() error { return st.Saved.save(ctx) }, "save deploy state") }
	// The subdomain may not exist yet: preflight can register it, and the
	// route step learns it then.
	_ = st.learn(ctx)
	var results []StepResult
	var applied []string
	wrote := false // a step that changes the account ran
	record := func(res StepResult) {
		results = append(results, res)
		if r.Progress != nil {
			r.Progress.Done(res)
		}
	}
	// answers are the steps' Skip. At the start and after a step ran, the
	// next step is asked alone: it may well run (preflight, whose reads the
	// later steps then share), and what it changes can change their
	// answers. When it has nothing to do, every later step is asked at
	// once, so their reads go out together. After a step ran, the later
	// ones are asked again, and the reads it did not change are answered
	// from st.Deps.Reads.
	answers := make([]*skipAnswer, len(r.Steps))
	for i, s := range r.Steps {
		name := s.Name()
		if ctx.Err() != nil {
			return results, r.interrupted(st, name)
		}
		if r.OnStepStart != nil {
			r.OnStepStart(name)
		}
		if r.Progress != nil {
			r.Progress.Start(name, s.String())
		}
		start := st.Deps.now()
		if answers[i] == nil {
			skip, reason := s.Skip(ctx, st)
			answers[i] = &skipAnswer{skip: skip, reason: reason}
			if skip {
				copy(answers[i+1:], askSkips(ctx, r.Steps[i+1:], st))
			}
		}
		if ctx.Err() != nil {
			return results, r.interrupted(st, name)
		}
		if a := answers[i]; a.skip {
			record(StepResult{Name: name, Status: StatusSkipped, DurationMS: ms(st.Deps.since(start)), Detail: a.reason})
			continue
		}
		clear(answers[i+1:])
		if !wrote && !isReadOnly(s) {
			// The first change: take what guards it (Deps.Hold), under
			// which the saved state was read again, and ask again.
			wrote = true
			if err := st.Deps.hold(ctx); err != nil {
				record(StepResult{Name: name, Status: StatusFailed, DurationMS: ms(st.Deps.since(start)), Detail: firstLine(err.Error())})
				return results, &StepError{Step: name, Err: err, Applied: applied, Resume: st.In.Options.Resume}
			}
			if skip, reason := s.Skip(ctx, st); skip {
				record(StepResult{Name: name, Status: StatusSkipped, DurationMS: ms(st.Deps.since(start)), Detail: reason})
				continue
			}
		}
		err := retry(func() error { return s.Run(ctx, st) }, "step "+name)
		if ctx.Err() != nil {
			if wrote {
				_ = st.Saved.save(ctx)
			}
			return results, r.interrupted(st, name)
		}
		if err != nil {
			record(StepResult{Name: name, Status: StatusFailed, DurationMS: ms(st.Deps.since(start)), Detail: firstLine(err.Error())})
			if wrote {
				st.Saved.Dep.LastDeploy = r.record(st, results, false, name)
				_ = save()
			}
			return results, &StepError{Step: name, Err: err, Applied: applied, Resume: st.In.Options.Resume}
		}
		// Nothing is written before the first change (and its lease): what
		// read-only steps learned is saved with it.
		if wrote {
			if err := save(); err != nil {
				return results, fmt.Errorf("save deploy state: %w", err)
			}
		}
		applied = append(applied, name)
		record(StepResult{Name: name, Status: StatusDone, DurationMS: ms(st.Deps.since(start)), Detail: st.Learned.Details[name]})
	}
	if !wrote && st.Saved.Keeper != nil && st.Saved.Keeper.Missing() {
		// The account lacks the state this checkout kept: putting it
		// there is a change, made under the lease.
		if err := st.Deps.hold(ctx); err != nil {
			return results, err
		}
		wrote = true
	}
	// A deploy that changed nothing leaves no record: the saved state, and
	// so the account's copy, stays as the last change left it.
	if !wrote {
		return results, nil
	}
	st.Saved.Dep.LastDeploy = r.record(st, results, true, "")
	if err := save(); err != nil {
		return results, fmt.Errorf("save deploy state: %w", err)
	}
	return results, nil
}

// readOnlyStep marks a step whose Run changes nothing in the account
// (preflight, which takes Deps.Hold itself before a fix; the wait): the
// runner takes Deps.Hold before the first other step that runs, and a run
// of read-only steps alone is a deploy with nothing to change.
type readOnlyStep interface{ readOnly() }

func isReadOnly(s Step) bool {
	_, ok := s.(readOnlyStep)
	return ok
}

// skipAnswer is what a step's Skip said.
type skipAnswer struct {
	skip   bool
	reason string
}

// skipReaders bounds how many steps' Skip run at once, and so how many
// reads are in flight.
const skipReaders = 10

// askSkips asks every step's Skip concurrently (Skip only reads, and the
// reads they share are asked once through st.Deps.Reads); the answers are
// in step order.
func askSkips(ctx context.Context, steps []Step, st *State) []*skipAnswer {
	out := make([]*skipAnswer, len(steps))
	sem := make(chan struct{}, skipReaders)
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			skip, reason := s.Skip(ctx, st)
			out[i] = &skipAnswer{skip: skip, reason: reason}
		}()
	}
	wg.Wait()
	return out
}

func (r *Runner) record(st *State, results []StepResult, ok bool, failed string) *state.DeployRecord {
	v, _, _ := buildinfo.Resolved()
	rec := &state.DeployRecord{At: st.Deps.now().UTC(), Version: v, Succeeded: ok, FailedStep: failed}
	for _, res := range results {
		rec.Steps = append(rec.Steps, res.Name+":"+res.Status)
	}
	return rec
}

func (r *Runner) interrupted(st *State, step string) error {
	return &clierr.InterruptedError{Step: step, Resume: st.In.Options.Resume}
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Transient reports whether err is worth trying again: a 429, a 5xx or a
// request that never got an answer.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *retryableError
	if errors.As(err, &re) {
		return true
	}
	var apiErr *cfapi.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == 429 || apiErr.StatusCode >= 500
	}
	var te *cfapi.TransportError
	if errors.As(err, &te) {
		return true
	}
	var tr interface{ Temporary() bool }
	return errors.As(err, &tr) && tr.Temporary()
}

// retryableError marks a failure of an idempotent step that is worth
// running again whatever its cause (a push cut off by the registry).
type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

// Retryable marks err as worth running the step again.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err}
}
