package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// pushOut is the part of `moltctl push --output json` the benchmark reads.
type pushOut struct {
	Ref         string `json:"ref"`
	DigestRef   string `json:"digest_ref"`
	Skipped     bool   `json:"skipped"`
	Built       bool   `json:"built"`
	BytesPushed int64  `json:"bytes_pushed"`
}

// benchImage pushes a temp copy of examples/moltworker to a fresh emulator
// registry each run: the first build and push, a re-run with nothing
// changed, and a run after one file of the image changed. Bytes pushed are
// the request bytes the registry (/v2/) received.
func benchImage(c config) ([]Row, error) {
	var ft, nt, ot, fb, nb, ob []float64
	for i := 0; i < c.runs; i++ {
		first, none, one, err := imageRun(c, i)
		if err != nil {
			return nil, err
		}
		ft, nt, ot = append(ft, first.ms), append(nt, none.ms), append(ot, one.ms)
		fb, nb, ob = append(fb, first.bytes), append(nb, none.bytes), append(ob, one.bytes)
	}
	note := "moltctl push on a copy of examples/moltworker, empty registry each run"
	return []Row{
		{Name: "image: no-change re-run", Metric: "wall time", Moltctl: median(nt), AltName: "first build and push", Alternative: median(ft), Ratio: ratio(median(ft), median(nt)), Unit: "ms", Note: note},
		{Name: "image: no-change re-run", Metric: "bytes pushed", Moltctl: median(nb), AltName: "first build and push", Alternative: median(fb), Ratio: ratio(median(fb), median(nb)), Unit: "bytes", Note: "ratio – when nothing is pushed"},
		{Name: "image: one-file change", Metric: "wall time", Moltctl: median(ot), AltName: "first build and push", Alternative: median(ft), Ratio: ratio(median(ft), median(ot)), Unit: "ms", Note: "start-openclaw.sh changed"},
		{Name: "image: one-file change", Metric: "bytes pushed", Moltctl: median(ob), AltName: "first build and push", Alternative: median(fb), Ratio: ratio(median(fb), median(ob)), Unit: "bytes", Note: "the changed layer, config and manifest; the example image is two small layers"},
	}, nil
}

type imageStep struct {
	ms    float64
	bytes float64
}

func imageRun(c config, i int) (first, none, one imageStep, err error) {
	e, err := startEmu(c)
	if err != nil {
		return
	}
	defer e.Close()
	dir, err := copyProject(c)
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	// A new content tag each run, so the first push really builds.
	nonce := fmt.Sprintf("# bench run %d at %d", i, time.Now().UnixNano())
	if err = appendFile(filepath.Join(dir, "skills", "README.md"), nonce); err != nil {
		return
	}
	push := func(wantSkip bool) (imageStep, error) {
		d, t, out, err := e.run(dir, "", nil, c.moltctl, "push", "--output", "json")
		if err != nil {
			return imageStep{}, err
		}
		var po pushOut
		if err := json.Unmarshal(out, &po); err != nil {
			return imageStep{}, fmt.Errorf("moltctl push --output json: %v", err)
		}
		if po.Skipped != wantSkip {
			return imageStep{}, fmt.Errorf("moltctl push: skipped=%v, want %v", po.Skipped, wantSkip)
		}
		return imageStep{ms(d), float64(t.RegBytes)}, nil
	}
	if first, err = push(false); err != nil {
		return
	}
	if none, err = push(true); err != nil {
		return
	}
	if err = appendFile(filepath.Join(dir, "start-openclaw.sh"), nonce); err != nil {
		return
	}
	one, err = push(false)
	return
}
