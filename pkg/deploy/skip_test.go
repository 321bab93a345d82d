package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/secrets"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// emulatedWorker deploys a small Worker with an R2 bucket and Access (no
// container, so no Docker) to a fresh emulator and returns a function that
// makes a State for the next deploy of it, with the state the first left.
func emulatedWorker(t *testing.T) func() *State {
	t.Helper()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("wrangler.jsonc", `{"name": "w", "main": "index.js", "compatibility_date": "2025-05-06", "workers_dev": true,
		"r2_buckets": [{"binding": "DATA", "bucket_name": "w-data"}]}`)
	write("index.js", "export default { fetch() { return new Response('hi') } }\n")
	cfg, err := wrangler.Load(filepath.Join(dir, "wrangler.jsonc"), "")
	if err != nil {
		t.Fatal(err)
	}
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID()})
	tmpl := srv.WorkersDevURLTemplate()
	store, err := state.Open(dir, "w")
	if err != nil {
		t.Fatal(err)
	}
	dep := &state.Deployment{Secrets: map[string]string{}}
	creds := &state.Credentials{Generated: map[string]string{}}
	values := secrets.NewValues(map[string]string{"MOLTBOT_GATEWAY_TOKEN": strings.Repeat("a1", 32),
		"ANTHROPIC_API_KEY": "sk-ant-api03-test-" + strings.Repeat("0", 32)})
	next := func() *State {
		return &State{
			In: Inputs{Config: cfg, AccountID: srv.AccountID(), Options: Options{NoWait: true}},
			Deps: Deps{API: api, Secrets: APISecrets{API: api},
				WorkersDevURL: func(name, sub string) string {
					return strings.NewReplacer("{name}", name, "{subdomain}", sub).Replace(tmpl)
				}},
			Saved:   Saved{Store: store, Dep: dep, Creds: creds},
			Learned: Learned{Values: values},
		}
	}
	if _, err := (&Runner{Steps: Steps(), Backoff: 1}).Run(context.Background(), next()); err != nil {
		t.Fatalf("first deploy: %v", err)
	}
	return next
}

// Skip only reads: asking every step, in any order and as often as one
// likes, leaves what the run learned and the saved state as they were.
func TestSkipChangesNothing(t *testing.T) {
	t.Parallel()
	st := emulatedWorker(t)()
	if err := st.learn(context.Background()); err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		b, err := json.Marshal(struct {
			L        Learned
			Resolved bool
			D        *state.Deployment
			C        *state.Credentials
		}{st.Learned, st.Learned.resolved, st.Saved.Dep, st.Saved.Creds})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := snapshot()
	steps := Steps()
	for round := 0; round < 2; round++ {
		for i := len(steps) - 1; i >= 0; i-- {
			s := steps[i]
			skip, reason := s.Skip(context.Background(), st)
			if round == 0 && s.Name() != "preflight" && s.Name() != "secrets" && !skip {
				t.Errorf("step %s has something to do after a deploy: %s", s.Name(), reason)
			}
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("Skip changed the state:\nbefore %s\nafter  %s", before, after)
	}
}

// A plan asks the steps concurrently and lists them in step order.
func TestPlanAsksConcurrentlyInStepOrder(t *testing.T) {
	t.Parallel()
	var inFlight, most atomic.Int32
	var steps []Step
	for i := range 5 {
		steps = append(steps, &slowSkip{name: fmt.Sprintf("s%d", i), delay: time.Duration(5-i) * 10 * time.Millisecond,
			inFlight: &inFlight, most: &most})
	}
	st := testState(t)
	p, err := MakePlan(context.Background(), steps, st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.Name+"="+s.Detail)
	}
	want := []string{"s0=s0 asked", "s1=s1 asked", "s2=s2 asked", "s3=s3 asked", "s4=s4 asked"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
	if most.Load() < 2 {
		t.Errorf("at most %d Skip ran at once; want them concurrent", most.Load())
	}
}

// slowSkip is a step whose Skip takes delay and counts how many run at once.
type slowSkip struct {
	fakeStep
	name           string
	delay          time.Duration
	inFlight, most *atomic.Int32
}

func (s *slowSkip) Name() string { return s.name }
func (s *slowSkip) Skip(context.Context, *State) (bool, string) {
	n := s.inFlight.Add(1)
	for {
		m := s.most.Load()
		if n <= m || s.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(s.delay)
	s.inFlight.Add(-1)
	return true, s.name + " asked"
}

// The runner asks later steps again after a step ran, so what the step
// changed counts; and a step that has nothing to do is not run.
func TestRunnerAsksAgainAfterAStepRan(t *testing.T) {
	t.Parallel()
	ran := &fakeStep{name: "changes"}
	first := &dependsOn{fakeStep: fakeStep{name: "first"}, on: &fakeStep{runs: 1}}
	after := &dependsOn{fakeStep: fakeStep{name: "after"}, on: ran}
	results, err := (&Runner{Steps: []Step{first, ran, after}}).Run(context.Background(), testState(t))
	if err != nil {
		t.Fatal(err)
	}
	if after.runs != 0 || len(results) != 3 || results[2].Status != StatusSkipped {
		t.Errorf("results %+v; the second step ran %d times", results, after.runs)
	}
}

// dependsOn has nothing to do once the step it depends on has run.
type dependsOn struct {
	fakeStep
	on *fakeStep
}

func (d *dependsOn) Skip(context.Context, *State) (bool, string) {
	return d.on.runs > 0, "done by " + d.on.name
}

// learn works out the image to deploy before any step is asked, so the
// image step's Skip has nothing to set.
func TestLearnTheImageBeforeThePlan(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, image string
		opts        Options
		want        string
	}{
		{"--skip-build", "./Dockerfile", Options{SkipBuild: true, Image: "registry.example/a/w@sha256:1"}, "registry.example/a/w@sha256:1"},
		{"pushed image", "docker.io/cloudflare/sandbox:0.1", Options{}, "docker.io/cloudflare/sandbox:0.1"},
		{"built before", "./Dockerfile", Options{}, "saved@sha256:2"},
	} {
		st := testState(t)
		st.In.Config.Containers = []wrangler.Container{{ClassName: "Sandbox", Image: tt.image}}
		st.In.Options = tt.opts
		st.Saved.Dep.Image.Ref = "saved@sha256:2"
		if err := st.learn(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st.Learned.ImageRef != tt.want {
			t.Errorf("%s: image %q, want %q", tt.name, st.Learned.ImageRef, tt.want)
		}
		before := st.Learned.ImageRef
		(&imageStep{}).Skip(context.Background(), st)
		if st.Learned.ImageRef != before {
			t.Errorf("%s: Skip changed the image to %q", tt.name, st.Learned.ImageRef)
		}
	}
}
