// Package logs implements `moltctl logs`: a live stream of the Worker's
// requests and console output through a Workers tail.
package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// LogsOptions are the inputs of `moltctl logs`.
type LogsOptions struct {
	Factory *cmdutil.Factory
	// Status filters: ok, error, canceled, an HTTP status (503) or class (5xx).
	Status []string
	Search string
	Method []string
	Format string
}

// NewCmdLogs returns the logs command.
func NewCmdLogs(f *cmdutil.Factory, runF func(context.Context, *LogsOptions) error) *cobra.Command {
	opts := &LogsOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Stream the Worker's logs",
		Long: `Stream the Worker's requests and console output live (a Workers tail),
until Ctrl-C. The tail is removed when the command stops.

--status keeps events whose outcome is ok, error or canceled, or whose
HTTP response status matches (503, 5xx, 4xx). --search keeps events whose
URL or log lines contain the text. --format json prints one JSON object per
line (the tail's own event message), for piping into jq.`,
		Example: `  moltctl logs
  moltctl logs --status error --status 5xx
  moltctl logs --search "[gateway]" --format json | jq .outcome`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Format == "" {
				opts.Format = "pretty"
				if f.Global.JSON() {
					opts.Format = "json"
				}
			}
			if opts.Format != "pretty" && opts.Format != "json" {
				return clierr.Usagef("--format must be pretty or json, not %q", opts.Format)
			}
			for _, s := range opts.Status {
				if _, err := parseStatus(s); err != nil {
					return &clierr.UsageError{Err: err, Fix: "use ok, error, canceled, an HTTP status like 503 or a class like 5xx"}
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringSliceVar(&opts.Status, "status", nil, "keep only events with this outcome (ok, error, canceled) or HTTP status (503, 5xx); repeatable")
	cmd.Flags().StringVar(&opts.Search, "search", "", "keep only events whose URL or log lines contain this text")
	cmd.Flags().StringSliceVar(&opts.Method, "method", nil, "keep only requests with this HTTP method; repeatable")
	cmd.Flags().StringVar(&opts.Format, "format", "", "pretty or json (one object per line; default json with --output json)")
	return cmd
}

// Event, Exception and Log are the tail's event message and its parts.
type (
	Event     = cfapi.TailEvent
	Exception = cfapi.TailException
	Log       = cfapi.TailLog
)

func logsRun(ctx context.Context, opts *LogsOptions) error {
	f := opts.Factory
	t, err := f.Target(ctx, true)
	if err != nil {
		return err
	}
	tail, err := t.API.StartTail(ctx, t.Worker, serverFilters(opts))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if cfapi.IsStatus(err, http.StatusNotFound) {
			return clierr.WithHint(err, "the Worker is not deployed: run `moltctl deploy`")
		}
		return err
	}
	// Close deletes the tail even when ctx was cancelled (Ctrl-C).
	defer tail.Close()
	if f.IOStreams.IsStderrTTY() && opts.Format == "pretty" {
		fmt.Fprintf(f.IOStreams.ErrOut, "Streaming logs of %s (Ctrl-C to stop)\n", t.Worker)
	}
	filter, _ := newFilter(opts)
	for {
		ev, msg, err := tail.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, cfapi.ErrTailClosed) {
				return errors.New("the tail was closed by Cloudflare; run the command again to continue")
			}
			return err
		}
		if !filter(ev, msg) {
			continue
		}
		if opts.Format == "json" {
			if err := writeLine(f.IOStreams.Out, msg); err != nil {
				return err
			}
			continue
		}
		printPretty(f.IOStreams.Out, ev, f.IOStreams.ColorScheme().Red)
	}
}

func writeLine(w io.Writer, msg []byte) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, msg); err != nil {
		buf.Reset()
		buf.Write(bytes.ReplaceAll(msg, []byte("\n"), nil))
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// serverFilters asks Cloudflare to filter what it can (outcome and text);
// the same filters run again here, as the tail may not apply them.
func serverFilters(opts *LogsOptions) []map[string]any {
	filters := []map[string]any{}
	var outcomes []string
	for _, s := range opts.Status {
		st, _ := parseStatus(s)
		outcomes = append(outcomes, st.outcomes...)
	}
	if len(outcomes) > 0 && len(outcomes) == countOutcomeFilters(opts) {
		filters = append(filters, map[string]any{"outcome": outcomes})
	}
	if len(opts.Method) > 0 {
		filters = append(filters, map[string]any{"method": opts.Method})
	}
	if opts.Search != "" {
		filters = append(filters, map[string]any{"query": opts.Search})
	}
	return filters
}

// countOutcomeFilters is the number of outcomes asked for, or -1 when an
// HTTP status is among the filters (then outcome cannot be filtered server-side).
func countOutcomeFilters(opts *LogsOptions) int {
	n := 0
	for _, s := range opts.Status {
		st, _ := parseStatus(s)
		if st.outcomes == nil {
			return -1
		}
		n += len(st.outcomes)
	}
	return n
}

type statusFilter struct {
	outcomes []string
	lo, hi   int // HTTP status range
}

func parseStatus(s string) (statusFilter, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "ok":
		return statusFilter{outcomes: []string{"ok"}}, nil
	case "error":
		return statusFilter{outcomes: []string{"exception", "exceededCpu", "exceededMemory", "unknown", "scriptNotFound"}}, nil
	case "canceled", "cancelled":
		return statusFilter{outcomes: []string{"canceled"}}, nil
	}
	if len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5' {
		d := int(s[0]-'0') * 100
		return statusFilter{lo: d, hi: d + 99}, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 100 && n <= 599 {
		return statusFilter{lo: n, hi: n}, nil
	}
	return statusFilter{}, fmt.Errorf("--status %q is not ok, error, canceled, an HTTP status or a class like 5xx", s)
}

// newFilter returns the client-side filter for opts.
func newFilter(opts *LogsOptions) (func(ev *Event, raw []byte) bool, error) {
	var sts []statusFilter
	for _, s := range opts.Status {
		st, err := parseStatus(s)
		if err != nil {
			return nil, err
		}
		sts = append(sts, st)
	}
	return func(ev *Event, raw []byte) bool {
		if len(sts) > 0 {
			match := false
			for _, st := range sts {
				if st.outcomes != nil {
					for _, o := range st.outcomes {
						match = match || ev.Outcome == o
					}
					continue
				}
				if ev.Event.Response != nil && ev.Event.Response.Status >= st.lo && ev.Event.Response.Status <= st.hi {
					match = true
				}
			}
			if !match {
				return false
			}
		}
		if len(opts.Method) > 0 {
			if ev.Event.Request == nil {
				return false
			}
			ok := false
			for _, m := range opts.Method {
				ok = ok || strings.EqualFold(m, ev.Event.Request.Method)
			}
			if !ok {
				return false
			}
		}
		if opts.Search != "" && !strings.Contains(searchText(ev), opts.Search) {
			return false
		}
		return true
	}, nil
}

func searchText(ev *Event) string {
	var b strings.Builder
	if r := ev.Event.Request; r != nil {
		b.WriteString(r.Method + " " + r.URL + "\n")
	}
	for _, l := range ev.Logs {
		b.WriteString(logText(l) + "\n")
	}
	for _, e := range ev.Exceptions {
		b.WriteString(e.Name + ": " + e.Message + "\n")
	}
	return b.String()
}

func logText(l Log) string { return l.Text() }

func printPretty(w io.Writer, ev *Event, red func(string) string) {
	ts := time.UnixMilli(ev.EventTimestamp).UTC().Format("2006-01-02 15:04:05")
	head := ts
	switch {
	case ev.Event.Request != nil:
		head += " " + ev.Event.Request.Method + " " + ev.Event.Request.URL
		if ev.Event.Response != nil {
			head += " " + strconv.Itoa(ev.Event.Response.Status)
		}
	case ev.Event.Cron != "":
		head += " cron " + ev.Event.Cron
	default:
		head += " event"
	}
	if ev.Outcome != "" && ev.Outcome != "ok" {
		head += " " + red(ev.Outcome)
	}
	fmt.Fprintln(w, head)
	for _, l := range ev.Logs {
		fmt.Fprintf(w, "  (%s) %s\n", l.Level, logText(l))
	}
	for _, e := range ev.Exceptions {
		fmt.Fprintf(w, "  %s %s: %s\n", red("✗"), e.Name, e.Message)
	}
}
