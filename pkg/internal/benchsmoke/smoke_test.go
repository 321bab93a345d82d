// Package benchsmoke checks that `make bench` still builds and that one
// iteration of every row completes (BENCH_RUNS=1, as `make bench-smoke`).
// It never measures anything: the numbers are not checked, only that each
// row has them.
package benchsmoke

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// Not parallel: it is the package's only test, and the bench it runs
// times its rows.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs moltctl and wrangler end to end")
	}
	testenv.RequireDocker(t)
	wr := testenv.Wrangler(t)
	repo, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// It builds moltctl and the bench from the sources in child processes:
	// without this, a cached pass would outlive a change that breaks them.
	testenv.TrackModule(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "moltctl")
	for _, args := range [][]string{
		{"build", "-o", bin, "./cmd/moltctl"},
		{"build", "-o", filepath.Join(tmp, "bench"), "./bench"},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
	}
	out := filepath.Join(tmp, "results")
	cmd := exec.Command(filepath.Join(tmp, "bench"), "-runs", "1", "-latency", "5ms", "-moltctl", bin, "-wrangler", wr, "-out", out)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(wr)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench -runs 1: %v\n%s", err, b)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 1 {
		t.Fatalf("want one JSON result, got %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Rows []struct {
			Name, Metric, Unit, Error string
			Moltctl, Alternative      float64
		} `json:"rows"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range res.Rows {
		if r.Error != "" || r.Unit == "" {
			t.Errorf("row %s %s: error %q", r.Name, r.Metric, r.Error)
		}
		seen[r.Name] = true
	}
	for _, want := range []string{"start-up: --version", "secrets: set a dozen", "preflight: all checks", "image: no-change re-run", "image: one-file change", "deploy: no change"} {
		if !seen[want] {
			t.Errorf("no %q row in %s", want, b)
		}
	}
}
