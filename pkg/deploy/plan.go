package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// PlanStep is one line of a plan.
type PlanStep struct {
	Name   string `json:"name"`
	What   string `json:"what"`
	Status string `json:"status"` // change, skipped
	Detail string `json:"detail,omitempty"`
}

// Plan is what a deploy would do, computed without changing anything.
type Plan struct {
	Worker  string        `json:"worker"`
	Account string        `json:"account_id"`
	Env     string        `json:"env,omitempty"`
	URL     string        `json:"url,omitempty"`
	Steps   []PlanStep    `json:"steps"`
	Cost    *CostEstimate `json:"cost,omitempty"`
	// Blockers are the IDs of the failed checks that would stop the
	// deploy at its preflight step (the dry run then exits 3).
	Blockers []string `json:"blockers,omitempty"`
	// Fixes are what the deploy would repair through the API first.
	Fixes []string `json:"fixes,omitempty"`
}

// MakePlan asks every step whether it has something to do. It only reads:
// nothing is created remotely and no local file is written.
func MakePlan(ctx context.Context, steps []Step, st *State) (*Plan, error) {
	st.Saved.Store = nil // never write during a plan
	p := &Plan{Worker: st.WorkerName(), Account: st.In.AccountID, Env: st.In.Config.EnvName}
	if err := st.learn(ctx); err != nil && unreachable(err) {
		// Every step would read "check and converge" for want of an
		// answer: a plan that says nothing, presented as if it were one.
		return nil, err
	}
	p.URL = st.Learned.URL
	for i, a := range askSkips(ctx, steps, st) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := steps[i]
		ps := PlanStep{Name: s.Name(), What: s.String(), Status: StatusChange, Detail: a.reason}
		if a.skip {
			ps.Status = StatusSkipped
		} else if a.reason == "" {
			ps.Detail = "check and converge"
		}
		p.Steps = append(p.Steps, ps)
	}
	if ct, ok := st.In.container(); ok {
		c, err := estimateType(ct.InstanceType, st.In.sleepAfter())
		if err != nil {
			st.Deps.warn("cost estimate: %v", err)
		} else {
			c.MaxInstances = max(ct.MaxInstances, 1)
			p.Cost = c
		}
	}
	return p, nil
}

// unreachable reports whether err is the API not answering at all (as
// opposed to answering with an error).
func unreachable(err error) bool {
	var te *cfapi.TimeoutError
	var tr *cfapi.TransportError
	return errors.As(err, &te) || errors.As(err, &tr)
}

// sleepAfter is SANDBOX_SLEEP_AFTER from the manifest's vars or wrangler's.
func (in *Inputs) sleepAfter() string {
	if in.Manifest != nil {
		if v, ok := in.Manifest.Vars["SANDBOX_SLEEP_AFTER"]; ok {
			return v
		}
	}
	if v, ok := in.Config.Vars["SANDBOX_SLEEP_AFTER"].(string); ok {
		return v
	}
	return ""
}

// WriteText renders the plan for people.
func (p *Plan) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Plan for %s", p.Worker)
	if p.Env != "" {
		fmt.Fprintf(w, " (env %s)", p.Env)
	}
	fmt.Fprintf(w, " on account %s", p.Account)
	if p.URL != "" {
		fmt.Fprintf(w, "\n  URL: %s", p.URL)
	}
	fmt.Fprintln(w)
	for _, s := range p.Steps {
		mark := "~"
		if s.Status == StatusSkipped {
			mark = "="
		}
		fmt.Fprintf(w, "  %s %-15s %s\n", mark, s.Name, strings.TrimSpace(s.Detail))
	}
	if p.Cost != nil {
		fmt.Fprintf(w, "Cost: %s\n", p.Cost)
	}
	for _, f := range p.Fixes {
		fmt.Fprintf(w, "First: %s\n", f)
	}
	if len(p.Blockers) > 0 {
		fmt.Fprintf(w, "Blocked: the deploy would stop at preflight (%s)\n", strings.Join(p.Blockers, ", "))
	}
	fmt.Fprintln(w, "(~ will change or be checked, = up to date; --dry-run changed nothing)")
}

// ConfirmLine is the one line a deploy shows before asking to go on: what
// goes where, and what the container costs a month. It changes nothing.
func ConfirmLine(ctx context.Context, st *State) string {
	line := fmt.Sprintf("Deploy %s to account %s", st.WorkerName(), st.In.AccountID)
	if st.In.Config.ServesWorkersDev() {
		if st.Learned.URL != "" {
			line += " at " + st.Learned.URL
		} else if sub, err := st.lookupSubdomain(ctx); err == nil {
			line += " at " + st.Deps.WorkersDevURL(st.WorkerName(), sub)
		}
	}
	if ct, ok := st.In.container(); ok {
		if c, err := estimateType(ct.InstanceType, st.In.sleepAfter()); err == nil {
			line += fmt.Sprintf("; the container costs ~$%.2f/month (sleep %s; Workers Paid's $5/month on top)", c.MonthlyUSD*float64(max(ct.MaxInstances, 1)), c.SleepAfter)
		}
	}
	return line
}
