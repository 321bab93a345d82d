package assistant

import (
	"context"
	"errors"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// LogWindow is how long DiagnoseLogs reads the Worker's logs: enough for
// a probe's request to show up in the tail, short enough not to keep a
// failed deploy waiting.
const LogWindow = 4 * time.Second

// DiagnoseLogs reads the Worker's logs through a tail for at most window
// and returns the known failures its log lines and exceptions reveal (what
// the gateway printed when it failed, which /api/status does not carry).
// probe (may be nil) is called once the tail listens, so that the Worker
// runs, and logs, while it is read; its context ends after a quarter of
// the window. It returns at the first recognised
// failure, when window passes (nil, nil) or when ctx ends; the tail is
// deleted before it returns, also on Ctrl-C. Log lines are matched, never
// returned: the Worker may log secret values.
func DiagnoseLogs(ctx context.Context, api *cfapi.Client, worker string, window time.Duration, probe func(context.Context)) ([]Diagnosis, error) {
	wctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	tail, err := api.StartTail(wctx, worker, nil)
	if err != nil {
		return nil, err
	}
	defer tail.Close()
	if probe != nil {
		done := make(chan struct{})
		// The probe is cut short so that its invocation ends, and its logs
		// reach the tail, well within the window: Cloudflare sends an
		// event when the invocation ends, and /api/status alone may wait
		// seconds for a gateway that does not listen.
		pctx, pcancel := context.WithTimeout(wctx, window/4)
		go func() {
			defer close(done)
			defer pcancel()
			probe(pctx)
		}()
		// Runs before tail.Close: the probe ends with the window.
		defer func() {
			cancel()
			<-done
		}()
	}
	for {
		ev, _, err := tail.Next(wctx)
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, cfapi.ErrTailClosed):
			return nil, nil
		default:
			return nil, err
		}
		if ds := Diagnose(eventTexts(ev)...); len(ds) > 0 {
			return ds, nil
		}
	}
}

// eventTexts are the log lines and exceptions of a tail event.
func eventTexts(ev *cfapi.TailEvent) []string {
	var texts []string
	for _, l := range ev.Logs {
		texts = append(texts, l.Text())
	}
	for _, e := range ev.Exceptions {
		texts = append(texts, e.Name+": "+e.Message)
	}
	return texts
}
