package deploy

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

func TestEstimateCostMatchesMoltworkerReadme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		it, sleep string
		lo, hi    float64
	}{
		{"standard-1", "", 34.49, 34.51},
		{"standard-1", "never", 34.49, 34.51},
		{"standard-1", "10m", 5, 6.5},
		{"standard-4", "", 100, 400},
		{"lite", "", 0.1, 10},
	}
	for _, tt := range tests {
		c, err := EstimateCost(tt.it, tt.sleep)
		if err != nil || c.MonthlyUSD < tt.lo || c.MonthlyUSD > tt.hi {
			t.Errorf("EstimateCost(%q, %q) = %+v, %v; want %.2f..%.2f", tt.it, tt.sleep, c, err, tt.lo, tt.hi)
		}
	}
	if _, err := EstimateCost("standard-9", ""); err == nil {
		t.Error("unknown instance type accepted")
	}
	if _, err := EstimateCost("standard-1", "soon"); err == nil {
		t.Error("bad SANDBOX_SLEEP_AFTER accepted")
	}
	r, _ := HourlyRate("standard-1")
	if math.Abs(r*730-34.50) > 0.01 {
		t.Errorf("standard-1 hourly rate %f does not give $34.50 over 730 h", r)
	}
}

func TestMigrationsFromDeployedTag(t *testing.T) {
	t.Parallel()
	st := &State{In: Inputs{Config: &wrangler.Config{Migrations: []wrangler.Migration{
		{Tag: "v1", NewSqliteClasses: []string{"Sandbox"}},
		{Tag: "v2", NewSqliteClasses: []string{"Other"}},
	}}}}
	tests := []struct {
		deployed  string
		wantNil   bool
		wantSteps int
		wantOld   string
	}{
		{"", false, 2, ""},
		{"v1", false, 1, "v1"},
		{"v2", true, 0, ""},
		{"v0", false, 2, "v0"},
	}
	for _, tt := range tests {
		m := (&workerStep{}).migrations(st, tt.deployed)
		if (m == nil) != tt.wantNil || (m != nil && (len(m.Steps) != tt.wantSteps || m.OldTag != tt.wantOld || m.NewTag != "v2")) {
			t.Errorf("migrations(%q) = %+v", tt.deployed, m)
		}
	}
}

func TestAssetHashIsWranglers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ path, body string }{{"index.html", "<h1>hi</h1>"}, {"_admin/app.js", "x"}, {"noext", ""}} {
		if got, want := cfapi.AssetHash(c.path, []byte(c.body)), cfemu.AssetHash(c.path, []byte(c.body)); got != want {
			t.Errorf("AssetHash(%q) = %s, emulator (wrangler's) %s", c.path, got, want)
		}
	}
}

// fakeStep records runs and can fail or be skipped.
type fakeStep struct {
	name  string
	runs  int
	errs  []error
	onRun func()
}

func (f *fakeStep) Name() string                                { return f.name }
func (f *fakeStep) String() string                              { return f.name }
func (f *fakeStep) Skip(context.Context, *State) (bool, string) { return false, "" }
func (f *fakeStep) Run(context.Context, *State) error {
	f.runs++
	if f.onRun != nil {
		f.onRun()
	}
	if len(f.errs) > 0 {
		e := f.errs[0]
		f.errs = f.errs[1:]
		return e
	}
	return nil
}

func testState(t *testing.T) *State {
	store, err := state.Open(t.TempDir(), "w")
	if err != nil {
		t.Fatal(err)
	}
	return &State{
		In:    Inputs{Config: &wrangler.Config{Name: "w"}, Options: Options{Resume: "moltctl deploy --yes"}},
		Saved: Saved{Store: store, Dep: &state.Deployment{Secrets: map[string]string{}}, Creds: &state.Credentials{Generated: map[string]string{}}},
	}
}

func TestRunnerRetriesTransientFailuresOnly(t *testing.T) {
	t.Parallel()
	transient := &cfapi.APIError{StatusCode: 503}
	flaky := &fakeStep{name: "flaky", errs: []error{transient, transient}}
	r := &Runner{Steps: []Step{flaky}, Backoff: 1}
	if _, err := r.Run(context.Background(), testState(t)); err != nil || flaky.runs != 3 {
		t.Fatalf("flaky: err %v after %d runs", err, flaky.runs)
	}
	bad := &fakeStep{name: "bad", errs: []error{&cfapi.APIError{StatusCode: 400}}}
	after := &fakeStep{name: "after"}
	_, err := (&Runner{Steps: []Step{flaky, bad, after}, Backoff: 1}).Run(context.Background(), testState(t))
	var se *StepError
	if !errors.As(err, &se) || se.Step != "bad" || bad.runs != 1 || after.runs != 0 || len(se.Applied) != 1 {
		t.Fatalf("bad: err %v, runs %d, after %d", err, bad.runs, after.runs)
	}
}

func TestRunnerStopsWhenInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	a := &fakeStep{name: "a", onRun: cancel}
	b := &fakeStep{name: "b"}
	st := testState(t)
	_, err := (&Runner{Steps: []Step{a, b}}).Run(ctx, st)
	var ie *clierr.InterruptedError
	if !errors.As(err, &ie) || ie.Step != "a" || b.runs != 0 || clierr.ExitCodeOf(err) != clierr.ExitInterrupted {
		t.Fatalf("err = %v, b ran %d times", err, b.runs)
	}
	if _, err := os.Stat(filepath.Join(st.Saved.Store.Dir, "state.json")); err != nil {
		t.Errorf("state not saved on interrupt: %v", err)
	}
}

// The runner times steps and dates the deploy record by the injected clock.
func TestRunnerUsesTheInjectedClock(t *testing.T) {
	t.Parallel()
	st := testState(t)
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	st.Deps.Now = func() time.Time {
		at = at.Add(time.Second)
		return at
	}
	results, err := (&Runner{Steps: []Step{&fakeStep{name: "a"}}}).Run(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].DurationMS != 1000 {
		t.Errorf("results = %+v, want one step of 1000 ms by the fake clock", results)
	}
	if got := st.Saved.Dep.LastDeploy.At; !got.Equal(at) {
		t.Errorf("deploy recorded at %s, want the fake clock's %s", got, at)
	}
}
