package initcmd

import (
	"context"
	"encoding/json"

	"github.com/moltctl/moltctl/pkg/cmdutil"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// DoctorResult is what init reports of the doctor checks it ran.
type DoctorResult struct {
	// Ran is false when the checks were skipped; Reason says why.
	Ran    bool          `json:"ran"`
	Reason string        `json:"reason,omitempty"`
	Failed bool          `json:"failed"`
	Checks []DoctorCheck `json:"checks,omitempty"`
}

// DoctorCheck is one check's outcome.
type DoctorCheck struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Fix     string `json:"fix,omitempty"`
}

// runDoctor runs the same checks as moltctl doctor.
var runDoctor = func(ctx context.Context, f *cmdutil.Factory) (*DoctorResult, error) {
	return &DoctorResult{Reason: "the doctor checks are not part of this build; run moltctl doctor"}, nil
}
