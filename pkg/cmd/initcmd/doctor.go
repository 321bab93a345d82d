package initcmd

import (
	"context"

	"github.com/moltctl/moltctl/pkg/preflight"
)

// DoctorResult is what init reports of the doctor checks it ran.
type DoctorResult struct {
	// Ran is false when the checks were skipped; Reason says why.
	Ran    bool                `json:"ran"`
	Reason string              `json:"reason,omitempty"`
	Failed bool                `json:"failed"`
	Checks []preflight.Outcome `json:"checks,omitempty"`
}

// runDoctor runs the checks moltctl doctor runs (preflight.Standard)
// against the manifest init just wrote.
func runDoctor(ctx context.Context, newEnv func() *preflight.Env) (*DoctorResult, error) {
	rep := preflight.Run(ctx, preflight.Standard(), newEnv())
	return &DoctorResult{Ran: true, Failed: rep.Failed(), Checks: rep.Checks}, nil
}
