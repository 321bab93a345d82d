package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// benchRedeploy deploys a temp copy of examples/moltworker with moltctl once,
// then, each run, times moltctl's deploy --yes with nothing changed next to
// wrangler deploy of the same project. wrangler is given the image moltctl
// pushed (a config copy whose containers[].image is the registry reference),
// since its Dockerfile build needs docker buildx.
func benchRedeploy(c config) ([]Row, error) {
	e, err := startEmu(c)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	dir, err := copyProject(c)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	extra := []string{"ANTHROPIC_API_KEY=" + moltworkerSecrets["ANTHROPIC_API_KEY"]}
	_, _, out, err := e.run(dir, "", extra, c.moltctl, "deploy", "--yes", "--output", "json")
	if err != nil {
		return nil, fmt.Errorf("first deploy: %w", err)
	}
	var res struct {
		Image string `json:"image"`
	}
	if err := json.Unmarshal(lastJSON(out), &res); err != nil || res.Image == "" {
		return nil, fmt.Errorf("first deploy: no image in its JSON result (%v)", err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "wrangler.jsonc"))
	if err != nil {
		return nil, err
	}
	wcfg := strings.ReplaceAll(string(cfg), `"image": "./Dockerfile"`, fmt.Sprintf("%q: %q", "image", res.Image))
	if err := os.WriteFile(filepath.Join(dir, "wrangler.bench.jsonc"), []byte(wcfg), 0o644); err != nil {
		return nil, err
	}
	wargs := []string{"deploy", "--config", "wrangler.bench.jsonc"}
	note := "wrangler given the pushed image (containers[].image = registry ref)"
	if _, _, _, err := e.run(dir, "", nil, c.wrangler, wargs...); err != nil {
		// Fall back to deploying the Worker without rolling out the container.
		wargs = []string{"deploy", "--containers-rollout=none"}
		note = "wrangler --containers-rollout=none (the pushed-image config failed)"
		if _, _, _, err2 := e.run(dir, "", nil, c.wrangler, wargs...); err2 != nil {
			return nil, fmt.Errorf("wrangler deploy: %v; then: %v", err, err2)
		}
	}
	// wrangler's deploy made a new version: one unmeasured moltctl deploy
	// makes it moltctl's again, so that the measured ones have nothing to
	// change. For the same reason every moltctl run comes before every
	// wrangler run, not in turn with them.
	if _, _, _, err := e.run(dir, "", extra, c.moltctl, "deploy", "--yes"); err != nil {
		return nil, fmt.Errorf("deploy after wrangler's: %w", err)
	}
	var mt, wt, mr, wr, mb, wb, mm, wm, mw, ml, st, sm []float64
	for i := 0; i < c.runs; i++ {
		d, t, _, err := e.run(dir, "", extra, c.moltctl, "deploy", "--yes")
		if err != nil {
			return nil, err
		}
		mt, mr, mb = append(mt, ms(d)), append(mr, float64(t.Requests+t.RegRequests)), append(mb, float64(t.Bytes+t.RegBytes))
		mm, mw, ml = append(mm, t.PeakMiB), append(mw, float64(t.Rounds)), append(ml, float64(t.LeaseRequests))
		// status reads what the deploy left (exit 0 when it is healthy).
		d, t, _, err = e.run(dir, "", nil, c.moltctl, "status")
		if err != nil {
			return nil, err
		}
		st, sm = append(st, ms(d)), append(sm, t.PeakMiB)
	}
	for i := 0; i < c.runs; i++ {
		d, t, _, err := e.run(dir, "", nil, c.wrangler, wargs...)
		if err != nil {
			return nil, err
		}
		wt, wr, wb, wm = append(wt, ms(d)), append(wr, float64(t.Requests+t.RegRequests)), append(wb, float64(t.Bytes+t.RegBytes)), append(wm, t.PeakMiB)
	}
	alt := "wrangler " + strings.Join(wargs, " ")
	lat := ms(c.latency)
	chain := redeployRounds
	floor := float64(chain) * lat
	within := func(r Row, ok bool) Row {
		if !ok {
			r.Note += "; MISSED"
		}
		return r
	}
	return []Row{
		{Name: "deploy: no change", Metric: "wall time", Moltctl: median(mt), AltName: alt, Alternative: median(wt), Ratio: ratio(median(wt), median(mt)), Unit: "ms", Note: note + "; moltctl deploy --yes waits for the assistant"},
		within(Row{Name: "deploy: no change", Metric: "wall time vs target", Moltctl: median(mt), AltName: "target", Alternative: 500, Ratio: ratio(500, median(mt)), Unit: "ms",
			Note: "target: ≤ 500 ms at 50 ms latency"}, median(mt) <= 500),
		{Name: "deploy: no change", Metric: "wall time vs floor", Moltctl: median(mt), AltName: "its longest chain of dependent reads × latency", Alternative: floor, Ratio: ratio(floor, median(mt)), Unit: "ms",
			Note: fmt.Sprintf("the chains (%d round trips): %s", chain, strings.Join(redeployChains, "; "))},
		{Name: "deploy: no change", Metric: "round trips waited", Moltctl: median(mw), AltName: "its longest chain of dependent reads", Alternative: float64(chain), Ratio: ratio(float64(chain), median(mw)), Unit: "round trips",
			Note: "requests answered one after another, from the emulator's log"},
		{Name: "deploy: no change", Metric: "API + registry requests", Moltctl: median(mr), AltName: alt, Alternative: median(wr), Ratio: ratio(median(wr), median(mr)), Unit: "req"},
		within(Row{Name: "deploy: no change", Metric: "API + registry requests vs target", Moltctl: median(mr), AltName: "target", Alternative: 14, Ratio: ratio(14, median(mr)), Unit: "req",
			Note: "target: ≤ 14 requests, the state read included"}, median(mr) <= 14),
		within(Row{Name: "deploy: no change", Metric: "lease requests", Moltctl: median(ml), AltName: "target", Alternative: 0, Ratio: ratio(0, median(ml)), Unit: "req",
			Note: "target: none (the lease is taken only when there is something to write); requests naming the lease's R2 bucket"}, median(ml) == 0),
		{Name: "deploy: no change", Metric: "bytes sent", Moltctl: median(mb), AltName: alt, Alternative: median(wb), Ratio: ratio(median(wb), median(mb)), Unit: "bytes"},
		{Name: "deploy: no change", Metric: "peak memory", Moltctl: median(mm), AltName: alt, Alternative: median(wm), Ratio: ratio(median(wm), median(mm)), Unit: "MiB"},
		within(Row{Name: "status", Metric: "peak memory", Moltctl: median(sm), AltName: "limit", Alternative: 25, Ratio: ratio(25, median(sm)), Unit: "MiB",
			Note: fmt.Sprintf("moltctl status after the deploy: %.0f ms; the limit is the one doctor and secrets set have", median(st))}, median(sm) <= 25),
	}, nil
}

// redeployRounds is the longest chain of API reads a deploy with nothing
// to change must make one after another, each needing an ID the one
// before answers; redeployChains names the chains of that length.
// Everything else can be read at once. (The registry is not among them: a
// container application already running the image the sources hash to
// needs no registry read. The assistant's /api/status is a request to the
// Worker, which the emulator does not delay.)
const redeployRounds = 2

var redeployChains = []string{
	"read the state → read what its IDs name (the Access application's policies)",
	"verify the token → read its permissions",
}

// lastJSON returns the last top-level JSON object in out (the result line).
func lastJSON(out []byte) []byte {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "\n{"); i >= 0 && !json.Valid([]byte(s)) {
		return []byte(s[i+1:])
	}
	return []byte(s)
}
