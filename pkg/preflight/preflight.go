// Package preflight holds the checks that `moltctl doctor` prints and
// `moltctl deploy` runs before it builds anything. Each Check has a stable
// ID; Run executes them all at once and returns a Report in the order the
// checks were given. Checks that depend on the same remote fact (is the
// token valid? which account?) share it through Env, which computes it once.
package preflight

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Status is the outcome of one check.
type Status string

// Statuses, in increasing order of severity (Skipped sits beside OK).
const (
	StatusOK      Status = "ok"
	StatusWarn    Status = "warn"
	StatusFail    Status = "fail"
	StatusSkipped Status = "skipped"
)

// Check is one preflight check.
type Check struct {
	// ID is stable: scripts, docs/doctor.md and --skip name it.
	ID string
	// Title is a short human label ("Docker daemon").
	Title string
	// Run performs the check. It must not panic on a nil API client or
	// config: it returns Skip(...) instead.
	Run func(ctx context.Context, env *Env) Result
}

// Result is what a check found.
type Result struct {
	Status Status
	// Message is the one-line finding.
	Message string
	// Fix is the exact remedy for a warn or fail: a command, or a dashboard link.
	Fix string
	// Action, when set, is a remedy `doctor --fix` can apply through the API.
	Action *Action
	// Human, when set, names a step only a person can take (subscribing to a
	// plan, enabling R2); --fix lists it without attempting it.
	Human string
}

// Action is an automatic fix.
type Action struct {
	// Summary says what Apply will do ("create the R2 bucket moltbot-data").
	Summary string
	// Apply performs the fix.
	Apply func(ctx context.Context, env *Env) error
	// Permanent marks a fix that cannot be undone (registering the
	// account's workers.dev name): it needs --yes or a person's answer,
	// never only the absence of a terminal.
	Permanent bool
}

// OK returns a passing result.
func OK(format string, args ...any) Result {
	return Result{Status: StatusOK, Message: fmt.Sprintf(format, args...)}
}

// Warn returns a warning with its fix.
func Warn(fix, format string, args ...any) Result {
	return Result{Status: StatusWarn, Message: fmt.Sprintf(format, args...), Fix: fix}
}

// Fail returns a failure with its fix.
func Fail(fix, format string, args ...any) Result {
	return Result{Status: StatusFail, Message: fmt.Sprintf(format, args...), Fix: fix}
}

// Skip returns a skipped result; the message starts with "skipped: ".
func Skip(reason string) Result {
	return Result{Status: StatusSkipped, Message: "skipped: " + reason}
}

// Outcome is one check's result in a Report.
type Outcome struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
	// Action and Human are for --fix; they are not part of the JSON output.
	Action   *Action       `json:"-"`
	Human    string        `json:"-"`
	Duration time.Duration `json:"-"`
}

// Report is the outcome of every check, in the order they were given.
type Report struct {
	OK     bool      `json:"ok"`
	Checks []Outcome `json:"checks"`
	// Interrupted is true when the run's context ended before every check
	// finished (Ctrl-C): the report is then never OK.
	Interrupted bool `json:"-"`
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			return true
		}
	}
	return false
}

// Count returns how many checks ended with status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// PermissionsUnverified reports whether the token's permissions could not
// be checked: deploy may go on, but a missing one stops it part-way.
func (r *Report) PermissionsUnverified() bool {
	c, ok := r.Get(IDPermissions)
	return ok && c.Status == StatusWarn && strings.HasPrefix(c.Message, PermissionsUnverified)
}

// Get returns the outcome of check id.
func (r *Report) Get(id string) (Outcome, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Outcome{}, false
}

// Actions returns the automatic fixes the report offers, in check order.
func (r *Report) Actions() []Outcome {
	var out []Outcome
	for _, c := range r.Checks {
		if c.Action != nil && (c.Status == StatusFail || c.Status == StatusWarn) {
			out = append(out, c)
		}
	}
	return out
}

// HumanSteps returns the outcomes whose fix needs a person.
func (r *Report) HumanSteps() []Outcome {
	var out []Outcome
	for _, c := range r.Checks {
		if c.Human != "" && (c.Status == StatusFail || c.Status == StatusWarn) {
			out = append(out, c)
		}
	}
	return out
}

// Options tune RunWith.
type Options struct {
	// Sequential runs the checks one after another (for comparison in benchmarks).
	Sequential bool
	// OnDone is called as each check finishes (from the check's goroutine,
	// serialised), for progress display.
	OnDone func(Outcome)
}

// Run executes every check concurrently and returns their outcomes in order.
func Run(ctx context.Context, checks []Check, env *Env) *Report {
	return RunWith(ctx, checks, env, Options{})
}

// RunWith is Run with options.
func RunWith(ctx context.Context, checks []Check, env *Env, o Options) *Report {
	if env == nil {
		env = &Env{}
	}
	out := make([]Outcome, len(checks))
	var mu sync.Mutex
	one := func(i int) {
		c := checks[i]
		start := time.Now()
		res := runOne(ctx, c, env)
		oc := Outcome{ID: c.ID, Title: c.Title, Status: res.Status, Message: res.Message, Fix: res.Fix,
			Action: res.Action, Human: res.Human, Duration: time.Since(start)}
		mu.Lock()
		out[i] = oc
		if o.OnDone != nil {
			o.OnDone(oc)
		}
		mu.Unlock()
	}
	if o.Sequential {
		for i := range checks {
			one(i)
		}
	} else {
		var wg sync.WaitGroup
		for i := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				one(i)
			}()
		}
		wg.Wait()
	}
	r := &Report{Checks: out, Interrupted: ctx.Err() != nil}
	r.OK = !r.Failed() && !r.Interrupted
	return r
}

// interrupted is the result of a check the run's context stopped: a
// failure, never a skip, so that an interrupted run cannot look ready.
func interrupted() Result {
	return Fail("run the command again", "interrupted before the check finished")
}

func runOne(ctx context.Context, c Check, env *Env) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Fail("report this as a moltctl bug", "check %s crashed: %v", c.ID, p)
		}
	}()
	if ctx.Err() != nil {
		return interrupted()
	}
	res = c.Run(ctx, env)
	if res.Status == "" {
		res.Status = StatusOK
	}
	// A check cut short reports a skip or a failure about the cancelled
	// call; what it would have found is unknown.
	if ctx.Err() != nil && res.Status != StatusOK {
		return interrupted()
	}
	return res
}
