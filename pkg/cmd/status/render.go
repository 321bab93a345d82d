package status

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/cmdutil"
)

func render(f *cmdutil.Factory, rep *Report) {
	out := f.IOStreams.Out
	cs := f.IOStreams.ColorScheme()
	now := f.Now()
	icon := func(ok bool) string {
		if ok {
			return cs.SuccessIcon()
		}
		return cs.FailureIcon()
	}
	line := func(label string, ok bool, text string) {
		fmt.Fprintf(out, "%s %-12s %s\n", icon(ok), label, text)
	}
	// With no Worker, the other lines have nothing to say: one problem,
	// one fix, not a column of crosses (and no tick for "0 secrets set").
	if w := rep.Worker; !w.Exists && w.Error == "" {
		line = func(label string, ok bool, text string) {
			if label == "Worker" {
				fmt.Fprintf(out, "%s %-12s %s\n", icon(ok), label, text)
				return
			}
			fmt.Fprintf(out, "%s %-12s %s\n", cs.SkippedIcon(), label, cs.Gray("nothing deployed"))
		}
	}

	w := rep.Worker
	wtext := w.Name
	switch {
	case !w.Exists:
		wtext += " (not deployed)"
	default:
		if w.VersionID != "" {
			wtext += ", version " + w.VersionID
		}
		if !w.DeployedOn.IsZero() {
			wtext += ", deployed " + ago(now, w.DeployedOn)
		}
		if w.URL != "" {
			wtext += ", " + w.URL
		}
		if !w.WorkersDev {
			wtext += " (workers.dev route disabled)"
		}
	}
	line("Worker", w.Exists && w.WorkersDev && w.Error == "", wtext)

	c := rep.Container
	ctext := c.Name
	switch {
	case c.Name == "":
		ctext = "none configured"
	case !c.Exists:
		ctext += " (missing)"
	default:
		// The application's "instances" is what it was asked to keep
		// running (0 for one a Durable Object starts); the health counts
		// are the instances that exist.
		ctext += ", " + healthText(c.Health)
		if c.MaxInstances > 0 {
			ctext += fmt.Sprintf(" (at most %d)", c.MaxInstances)
		}
		if c.ActiveRolloutID != "" {
			ctext += ", rollout " + c.ActiveRolloutID + " in progress"
		}
	}
	line("Container", c.Error == "" && (c.Name == "" || c.Exists), ctext)

	g := rep.Gateway
	gtext := g.Status
	if g.ProcessID != "" {
		gtext += " (process " + g.ProcessID + ")"
	}
	if g.Error != "" && !g.OK {
		gtext = strings.TrimSpace(gtext + " " + g.Error)
	}
	line("Gateway", g.OK, gtext)

	s := rep.Secrets
	stext := fmt.Sprintf("%d set", len(s.Present))
	if len(s.Missing) > 0 {
		stext += ", missing " + strings.Join(s.Missing, ", ")
	}
	stext += " (checked against " + s.Source + ")"
	line("Secrets", s.Error == "" && len(s.Missing) == 0, stext)

	a := rep.Access
	atext := "not configured"
	if a.Configured {
		atext = "application " + a.AppID
		if a.Domain != "" {
			atext += " protects " + a.Domain
		}
	}
	if !a.ServiceToken {
		atext += "; moltctl has no service token"
	}
	line("Access", a.Configured && a.Error == "", atext)

	b := rep.Backup
	btext := "not configured"
	switch {
	case b.Error != "":
		btext = "unknown"
	case b.Configured && b.LastSync != "":
		btext = "configured, last sync " + b.LastSync
	case b.Configured:
		btext = "configured, not synced yet"
	}
	if b.Bucket != "" {
		btext += " (bucket " + b.Bucket + ")"
	}
	line("R2 backup", b.Configured && b.Error == "", btext)

	if d := rep.LastDeploy; d != nil {
		res := "succeeded"
		if !d.Succeeded {
			res = "failed"
			if d.FailedStep != "" {
				res += " at " + d.FailedStep
			}
		}
		fmt.Fprintf(out, "  %-12s %s, %s (moltctl %s)\n", "Last deploy", ago(now, d.At), res, d.Version)
	} else {
		fmt.Fprintf(out, "  %-12s none recorded in this project\n", "Last deploy")
	}

	if len(rep.Problems)+len(rep.Warnings) > 0 {
		fmt.Fprintln(out)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(out, "%s %s: %s\n", cs.FailureIcon(), p.Component, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(out, "  %s %s\n", cs.Bold("Fix:"), p.Fix)
		}
	}
	for _, p := range rep.Warnings {
		fmt.Fprintf(out, "%s %s: %s\n", cs.WarningIcon(), p.Component, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(out, "  %s %s\n", cs.Bold("Fix:"), p.Fix)
		}
	}
	if rep.Healthy {
		fmt.Fprintf(out, "\n%s\n", cs.Green("Healthy."))
	} else {
		fmt.Fprintf(out, "\n%s\n", cs.Red(fmt.Sprintf("Unhealthy: %d problem(s).", len(rep.Problems))))
	}
}

// healthText describes the instances from the API's health counts, in
// which "active" counts every running instance and the other keys
// (healthy, starting, failed, scheduling) say how they are.
func healthText(h map[string]int) string {
	var keys []string
	for k, n := range h {
		if n > 0 && k != "active" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", h[k], k)
	}
	text := fmt.Sprintf("%d instance(s) active", h["active"])
	if len(parts) > 0 {
		text += ": " + strings.Join(parts, ", ")
	}
	return text
}
