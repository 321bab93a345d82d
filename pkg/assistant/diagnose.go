package assistant

import (
	"strconv"
	"strings"
)

// Diagnosis is a known reason the assistant does not come up, recognised
// from what the Worker says (/api/status errors, 503 details, log lines).
type Diagnosis struct {
	// ID is stable, for JSON and docs/troubleshooting.md.
	ID string `json:"id"`
	// Cause says what went wrong; Fix what to do.
	Cause string `json:"cause"`
	Fix   string `json:"fix"`
	// Upstream lists the cloudflare/moltworker issues that report it.
	Upstream []int `json:"upstream,omitempty"`
}

// Hint is the cause and the fix in one line, with the upstream issues.
func (d Diagnosis) Hint() string {
	h := d.Cause + ": " + d.Fix
	if len(d.Upstream) > 0 {
		refs := make([]string, len(d.Upstream))
		for i, n := range d.Upstream {
			refs[i] = "#" + strconv.Itoa(n)
		}
		h += " (cloudflare/moltworker " + strings.Join(refs, ", ") + "; docs/troubleshooting.md)"
	}
	return h
}

// signature is a Diagnosis and the texts (lower case) that reveal it.
type signature struct {
	needles []string
	Diagnosis
}

// signatures are the failures moltworker's users report most, each with
// the upstream issues where it is described (docs/troubleshooting.md).
var signatures = []signature{
	{[]string{"config invalid", "invalid config", "configuration is invalid"}, Diagnosis{
		ID:       "openclaw-config-invalid",
		Cause:    "OpenClaw refused its configuration (\"Config invalid\"), so the gateway exits at start; it is usually written from a channel variable (TELEGRAM_*, DISCORD_*, SLACK_*) or restored from R2 by another OpenClaw version",
		Fix:      "run `moltctl secrets check`, remove or correct the channel variable changed last (`moltctl secrets unset NAME`) and `moltctl deploy`; if the config came from R2, delete the openclaw/ prefix of the bucket so onboarding writes a fresh one",
		Upstream: []int{57, 82, 160}}},
	{[]string{"container is not running, consider calling start()", "container is not running"}, Diagnosis{
		ID:       "container-not-running",
		Cause:    "the container stopped (it crashed at start, was put to sleep or was replaced by a rollout) while the Worker talked to it",
		Fix:      "`moltctl restart` starts the gateway again; if it stops at every start, read `moltctl logs` for its exit (code 126 is CRLF line endings in start-openclaw.sh, see `moltctl doctor`)",
		Upstream: []int{291}}},
	{[]string{"lock timeout", "eaddrinuse", "address already in use", "gateway already running"}, Diagnosis{
		ID:       "gateway-started-twice",
		Cause:    "a second gateway start ran while one was running and waits on its lock or port 18789 (\"lock timeout\", port in use)",
		Fix:      "update your fork to cloudflare/moltworker with PRs #336 and #337 (they stop the double start), redeploy, then `moltctl restart`",
		Upstream: []int{289}}},
	{[]string{"exit code 126", "exited with code 126", "permission denied: /usr/local/bin/start-openclaw.sh", "bad interpreter"}, Diagnosis{
		ID:       "start-script-crlf",
		Cause:    "start-openclaw.sh cannot run in the container (exit code 126), typically because a Windows checkout gave it CRLF line endings",
		Fix:      "convert it to LF (`sed -i 's/\\r$//' start-openclaw.sh`), add `*.sh text eol=lf` to .gitattributes and `moltctl deploy`",
		Upstream: []int{64, 80}}},
	{[]string{"cf-aig-authorization", "authenticated gateway"}, Diagnosis{
		ID:       "ai-gateway-authentication",
		Cause:    "the AI Gateway requires authentication (Authenticated Gateway) and the requests do not carry a token",
		Fix:      "set CF_AIG_TOKEN (`moltctl secrets set CF_AIG_TOKEN`) with a moltworker that reads it (PR #298), or turn off authentication on the gateway",
		Upstream: []int{74}}},
}

// Diagnose returns the known failures that texts reveal, each once, in
// the order of the signatures.
func Diagnose(texts ...string) []Diagnosis {
	all := strings.ToLower(strings.Join(texts, "\n"))
	var out []Diagnosis
	for _, s := range signatures {
		for _, n := range s.needles {
			if strings.Contains(all, n) {
				out = append(out, s.Diagnosis)
				break
			}
		}
	}
	return out
}

// diagnosedHint is the first diagnosis's hint for texts, or "".
func diagnosedHint(texts ...string) string {
	if d := Diagnose(texts...); len(d) > 0 {
		return d[0].Hint()
	}
	return ""
}
