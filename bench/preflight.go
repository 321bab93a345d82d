package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/preflight"
)

// doctorChain is the longest chain of requests doctor must send one after
// another: the token's own record is read by the ID that verifying it
// answers.
var doctorChain = []string{"verify the token", "read the token's permissions"}

// benchPreflight times doctor's checks (preflight.Standard) on the example
// project against the emulator with c.latency on every request: run
// concurrently as doctor and deploy run them, and the same checks one after
// another. The second row divides both by the latency.
func benchPreflight(c config) ([]Row, error) {
	srv := cfemu.New(cfemu.Options{Latency: c.latency}).Start()
	defer srv.Close()
	vars := map[string]string{
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(), "CLOUDFLARE_API_TOKEN": srv.Token(), "CLOUDFLARE_ACCOUNT_ID": srv.AccountID(),
		// The example's manifest reads it from the environment; the secrets
		// check resolves every source, as moltctl doctor does below.
		"ANTHROPIC_API_KEY": moltworkerSecrets["ANTHROPIC_API_KEY"],
	}
	getenv := func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	io, _, _, _ := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: io, Global: &cmdutil.GlobalOptions{Output: cmdutil.OutputText}, Getenv: getenv,
		WorkingDir: filepath.Join(c.repo, "examples", "moltworker"), Now: time.Now, HTTPClient: cmdutil.NewHTTPClient()}
	measure := func(sequential bool) (float64, error) {
		env := f.PreflightEnv()
		start := time.Now()
		rep := preflight.RunWith(context.Background(), preflight.Standard(), env, preflight.Options{Sequential: sequential})
		d := time.Since(start)
		for _, o := range rep.Checks {
			if o.Status == preflight.StatusFail && o.ID != preflight.IDDocker && o.ID != preflight.IDDockerPlatform && o.ID != preflight.IDDockerDisk {
				return 0, fmt.Errorf("check %s failed: %s", o.ID, o.Message)
			}
		}
		return ms(d), nil
	}
	// moltctl doctor itself, as a user runs it, on a copy of the example
	// against its own emulator (exit 3 when a check fails still counts:
	// Docker checks may fail on the bench machine).
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
	var doc, docMem, docRounds []float64
	doctor := func() error {
		d, t, _, err := e.run(dir, "", []string{"ANTHROPIC_API_KEY=" + moltworkerSecrets["ANTHROPIC_API_KEY"]}, c.moltctl, "doctor")
		var ee *exec.ExitError
		if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) && !strings.Contains(err.Error(), "exit status 3") {
			return err
		}
		doc, docMem, docRounds = append(doc, ms(d)), append(docMem, t.PeakMiB), append(docRounds, float64(t.Rounds))
		return nil
	}
	var conc, seq []float64
	for i := 0; i < c.runs; i++ {
		if err := doctor(); err != nil {
			return nil, err
		}
		a, err := measure(false)
		if err != nil {
			return nil, err
		}
		b, err := measure(true)
		if err != nil {
			return nil, err
		}
		conc, seq = append(conc, a), append(seq, b)
	}
	lat := ms(c.latency)
	mc, msq := median(conc), median(seq)
	n := len(preflight.Standard())
	md := median(doc)
	target := Row{Name: "preflight: moltctl doctor", Metric: "time / injected latency vs target", Moltctl: md / lat, AltName: "target", Alternative: 2.5,
		Ratio: ratio(2.5, md/lat), Unit: "× latency", Note: fmt.Sprintf("target: ≤ 2.5× latency; its longest chain (%d): %s", len(doctorChain), strings.Join(doctorChain, " → "))}
	if target.Moltctl > target.Alternative {
		target.Note += "; MISSED"
	}
	mem := Row{Name: "preflight: moltctl doctor", Metric: "peak memory", Moltctl: median(docMem), AltName: "limit", Alternative: 25,
		Ratio: ratio(25, median(docMem)), Unit: "MiB", Note: "target: ≤ 25 MiB"}
	if mem.Moltctl > mem.Alternative {
		mem.Note += "; MISSED"
	}
	return []Row{
		{Name: "preflight: moltctl doctor", Metric: "wall time", Moltctl: md, AltName: "its checks one after another", Alternative: msq,
			Ratio: ratio(msq, md), Unit: "ms", Note: "whole process, on a copy of examples/moltworker"},
		{Name: "preflight: moltctl doctor", Metric: "time / injected latency", Moltctl: md / lat, AltName: "its checks one after another", Alternative: msq / lat,
			Ratio: ratio(msq, md), Unit: "× latency"},
		target,
		{Name: "preflight: moltctl doctor", Metric: "round trips waited", Moltctl: median(docRounds), AltName: "its longest chain of dependent requests", Alternative: float64(len(doctorChain)),
			Ratio: ratio(float64(len(doctorChain)), median(docRounds)), Unit: "round trips", Note: "requests answered one after another, from the emulator's log"},
		mem,
		{Name: "preflight: all checks", Metric: "wall time", Moltctl: mc, AltName: "same checks one after another", Alternative: msq,
			Ratio: ratio(msq, mc), Unit: "ms", Note: fmt.Sprintf("%d checks, %s per API request", n, c.latency)},
		{Name: "preflight: all checks", Metric: "time / injected latency", Moltctl: mc / lat, AltName: "same checks one after another", Alternative: msq / lat,
			Ratio: ratio(msq, mc), Unit: "× latency", Note: "the concurrent floor is the longest chain of dependent requests"},
	}, nil
}
