package preflight

import (
	"fmt"
	"io"
	"strings"

	"github.com/moltctl/moltctl/pkg/iostreams"
)

// Render writes the report as a checklist: one line per check, the fix
// indented under each warn and fail, and a summary line.
func Render(w io.Writer, cs *iostreams.ColorScheme, r *Report) {
	RenderList(w, cs, r)
	RenderSummary(w, cs, r, "moltctl doctor")
}

// RenderChecks writes the checklist and the counts without the advice of
// the summary line, for a command that says itself what to do next
// (deploy's one "Fix:" line), so that a failure has one next step.
func RenderChecks(w io.Writer, cs *iostreams.ColorScheme, r *Report) {
	RenderList(w, cs, r)
	RenderSummary(w, cs, r, "")
}

// RenderList writes one line per check, the fix indented under each warn
// and fail.
func RenderList(w io.Writer, cs *iostreams.ColorScheme, r *Report) {
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.Title))
	}
	for _, c := range r.Checks {
		var icon string
		msg := c.Message
		switch c.Status {
		case StatusOK:
			icon = cs.SuccessIcon()
		case StatusWarn:
			icon = cs.WarningIcon()
		case StatusFail:
			icon = cs.FailureIcon()
		default:
			icon = cs.SkippedIcon()
			msg = cs.Gray(msg)
		}
		fmt.Fprintf(w, "%s %-*s  %s\n", icon, width, c.Title, msg)
		if c.Fix != "" && (c.Status == StatusFail || c.Status == StatusWarn) {
			fmt.Fprintf(w, "  %s %s %s\n", strings.Repeat(" ", width), cs.Bold("fix:"), c.Fix)
		}
	}
}

// RenderSummary writes a blank line and the counts. When again is not
// empty, the line also gives the advice: on a failure, to run again (the
// command, with the flags that chose the project) after the fixes.
func RenderSummary(w io.Writer, cs *iostreams.ColorScheme, r *Report, again string) {
	fail, warn := r.Count(StatusFail), r.Count(StatusWarn)
	ok, skip := r.Count(StatusOK), r.Count(StatusSkipped)
	summary := fmt.Sprintf("%d failed, %d warning(s), %d ok, %d skipped", fail, warn, ok, skip)
	fmt.Fprintln(w)
	switch {
	case again == "" && fail > 0:
		fmt.Fprintln(w, cs.Red(summary))
	case again == "":
		fmt.Fprintln(w, summary)
	case fail > 0:
		fmt.Fprintln(w, cs.Red(summary)+" — fix the failures above, then run "+again+" again")
	case r.PermissionsUnverified():
		fmt.Fprintln(w, cs.Yellow(summary)+" — ready, permissions unverified")
	case warn > 0:
		fmt.Fprintln(w, cs.Yellow(summary)+" — ready to deploy")
	default:
		fmt.Fprintln(w, cs.Green(summary)+" — ready to deploy")
	}
}
