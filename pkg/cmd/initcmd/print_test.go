package initcmd

import (
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/preflight"
)

// A failed check in init's report is followed by one list of what to do
// next, not also doctor's "run moltctl doctor again"; inside launch, by
// nothing (launch says it).
func TestPrintResultHasOneNextList(t *testing.T) {
	t.Parallel()
	r := &Result{Action: "created", Manifest: "moltctl.yaml", Answers: Answers{Provider: "anthropic", SleepAfter: "10m"},
		Doctor: &DoctorResult{Ran: true, Failed: true, Checks: []preflight.Outcome{
			{ID: "r2.enabled", Title: "R2 enabled", Status: preflight.StatusFail, Message: "R2 is not enabled", Fix: "enable R2"}}},
		Next: []string{"moltctl doctor --fix", "moltctl deploy"}}
	for _, composed := range []bool{false, true} {
		ios, _, out, _ := iostreams.Test()
		printResult(ios, ios.ColorScheme(), r, composed)
		got := out.String()
		if strings.Contains(got, "again") {
			t.Errorf("composed=%v: doctor's advice too:\n%s", composed, got)
		}
		if strings.Contains(got, "Next:") == composed {
			t.Errorf("composed=%v: Next list shown=%v:\n%s", composed, !composed, got)
		}
	}
}
