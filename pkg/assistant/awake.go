package assistant

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// awakeRecord remembers the gateway process moltctl last saw running and
// when it first saw it: /api/status names the process but not its age.
type awakeRecord struct {
	ProcessID string    `json:"process_id"`
	FirstSeen time.Time `json:"first_seen"`
}

// ObserveAwake records in file p that the gateway process processID runs
// at now, and returns since when moltctl has seen that same process run
// (now the first time). A container that slept starts a new process, so a
// long-lived process id means the container stayed awake. Errors only
// shorten the answer: the record is a hint, not state.
func ObserveAwake(p, processID string, now time.Time) time.Time {
	if processID == "" || p == "" {
		return now
	}
	var rec awakeRecord
	if b, err := os.ReadFile(p); err == nil && json.Unmarshal(b, &rec) == nil && rec.ProcessID == processID && !rec.FirstSeen.IsZero() && !rec.FirstSeen.After(now) {
		return rec.FirstSeen
	}
	rec = awakeRecord{ProcessID: processID, FirstSeen: now}
	if b, err := json.Marshal(rec); err == nil {
		if os.MkdirAll(filepath.Dir(p), 0o700) == nil {
			_ = os.WriteFile(p, b, 0o600)
		}
	}
	return now
}

// awakeFactor and awakeFloor say how far past SANDBOX_SLEEP_AFTER an
// awake gateway is "far past": a busy assistant stays up legitimately for
// a while, a container that never sleeps stays up for days.
const (
	awakeFactor = 6
	awakeFloor  = 6 * time.Hour
)

// SleepWarning says, when the container will not or did not sleep, what
// that costs and how to change it; "" when all is well. sleepAfter is
// SANDBOX_SLEEP_AFTER ("" is moltworker's default, never); up is how long
// the same gateway process has been seen running.
func SleepWarning(sleepAfter string, up time.Duration) (msg, fix string) {
	s := strings.ToLower(strings.TrimSpace(sleepAfter))
	if s == "" || s == "never" {
		return "the container never sleeps (SANDBOX_SLEEP_AFTER is never, moltworker's default): it runs and is billed 24/7 (cloudflare/moltworker #156, #244)",
			"set `vars: {SANDBOX_SLEEP_AFTER: 10m}` in moltctl.yaml and run `moltctl deploy` (see docs/troubleshooting.md)"
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return "", ""
	}
	far := max(time.Duration(awakeFactor)*d, awakeFloor)
	if up < far {
		return "", ""
	}
	return fmt.Sprintf("the gateway has stayed up for %s although SANDBOX_SLEEP_AFTER is %s: something keeps the container awake (cloudflare/moltworker #156, #244)", roundDuration(up), s),
		"close idle Control UI tabs and WebSocket clients (channel bots also keep it busy); check the bill in the dashboard, and see docs/troubleshooting.md"
}

func roundDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}
