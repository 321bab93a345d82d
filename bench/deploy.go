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
	var mt, wt, mr, wr, mb, wb []float64
	for i := 0; i < c.runs; i++ {
		d, t, _, err := e.run(dir, "", extra, c.moltctl, "deploy", "--yes")
		if err != nil {
			return nil, err
		}
		mt, mr, mb = append(mt, ms(d)), append(mr, float64(t.Requests+t.RegRequests)), append(mb, float64(t.Bytes+t.RegBytes))
		d, t, _, err = e.run(dir, "", nil, c.wrangler, wargs...)
		if err != nil {
			return nil, err
		}
		wt, wr, wb = append(wt, ms(d)), append(wr, float64(t.Requests+t.RegRequests)), append(wb, float64(t.Bytes+t.RegBytes))
	}
	alt := "wrangler " + strings.Join(wargs, " ")
	return []Row{
		{Name: "deploy: no change", Metric: "wall time", Moltctl: median(mt), AltName: alt, Alternative: median(wt), Ratio: ratio(median(wt), median(mt)), Unit: "ms", Note: note + "; moltctl deploy --yes waits for the assistant"},
		{Name: "deploy: no change", Metric: "API + registry requests", Moltctl: median(mr), AltName: alt, Alternative: median(wr), Ratio: ratio(median(wr), median(mr)), Unit: "req"},
		{Name: "deploy: no change", Metric: "bytes sent", Moltctl: median(mb), AltName: alt, Alternative: median(wb), Ratio: ratio(median(wb), median(mb)), Unit: "bytes"},
	}, nil
}

// lastJSON returns the last top-level JSON object in out (the result line).
func lastJSON(out []byte) []byte {
	s := strings.TrimSpace(string(out))
	if i := strings.LastIndex(s, "\n{"); i >= 0 && !json.Valid([]byte(s)) {
		return []byte(s[i+1:])
	}
	return []byte(s)
}
