package deploy

import (
	"context"
	"fmt"
	"io"
	"strings"
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
}

// MakePlan asks every step whether it has something to do. It only reads:
// nothing is created remotely and no local file is written.
func MakePlan(ctx context.Context, steps []Step, st *State) (*Plan, error) {
	st.Store = nil // never write during a plan
	if st.Details == nil {
		st.Details = map[string]string{}
	}
	p := &Plan{Worker: st.WorkerName(), Account: st.AccountID, Env: st.Config.EnvName}
	if _, err := st.subdomain(ctx); err == nil {
		p.URL = st.URL
	}
	if st.NamespaceID == "" {
		st.NamespaceID = st.Dep.Worker.DurableObjectNamespaceID
	}
	if st.ImageRef == "" {
		st.ImageRef = st.Dep.Image.Ref
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		skip, reason := s.Skip(ctx, st)
		ps := PlanStep{Name: s.Name(), What: s.String(), Status: StatusChange, Detail: reason}
		if skip {
			ps.Status = StatusSkipped
		} else if reason == "" {
			ps.Detail = "check and converge"
		}
		p.Steps = append(p.Steps, ps)
	}
	if ct, ok := st.container(); ok {
		c, err := EstimateCost(ct.InstanceType, st.sleepAfter())
		if err != nil {
			st.warn("cost estimate: %v", err)
		} else {
			c.MaxInstances = max(ct.MaxInstances, 1)
			p.Cost = c
		}
	}
	return p, nil
}

// sleepAfter is SANDBOX_SLEEP_AFTER from the manifest's vars or wrangler's.
func (st *State) sleepAfter() string {
	if st.Manifest != nil {
		if v, ok := st.Manifest.Vars["SANDBOX_SLEEP_AFTER"]; ok {
			return v
		}
	}
	if v, ok := st.Config.Vars["SANDBOX_SLEEP_AFTER"].(string); ok {
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
	fmt.Fprintln(w, "(~ will change or be checked, = up to date; --dry-run changed nothing)")
}
