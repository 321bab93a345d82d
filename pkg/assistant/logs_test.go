package assistant

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/safehttp"
)

// tailRecorder counts the tails created and deleted through it.
type tailRecorder struct {
	mu               sync.Mutex
	created, deleted int
}

func (r *tailRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/tails") {
		r.mu.Lock()
		switch req.Method {
		case http.MethodPost:
			r.created++
		case http.MethodDelete:
			r.deleted++
		}
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *tailRecorder) balanced() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.created == 1 && r.deleted == 1
}

// logsWorker deploys a Worker named molt to a fresh emulator, with the
// gateway fault stderr ("" for none), and returns an API client and a probe
// that sends the Worker one request.
func logsWorker(t *testing.T, stderr string) (*cfapi.Client, *tailRecorder, func(context.Context)) {
	t.Helper()
	srv := cfemu.New(cfemu.Options{ColdStart: time.Millisecond}).Start()
	t.Cleanup(srv.Close)
	var sub string
	srv.Update(func(st *cfemu.State) {
		st.Scripts["molt"] = &cfemu.Script{Name: "molt", ID: "molt-id", WorkersDevEnabled: true}
		sub = st.Account.Subdomain
	})
	srv.SetGatewayFault("molt", stderr)
	rec := &tailRecorder{}
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID(), HTTPClient: &http.Client{Transport: rec}})
	base := strings.NewReplacer("{name}", "molt", "{subdomain}", sub).Replace(srv.WorkersDevURLTemplate())
	worker := New(base, ServiceToken{}, safehttp.NewClient())
	return api, rec, func(ctx context.Context) { _, _ = worker.Status(ctx) }
}

func TestDiagnoseLogsNamesTheCauseTheGatewayPrinted(t *testing.T) {
	t.Parallel()
	// The line carries a secret, as a Worker's log may: it must not come out.
	api, rec, probe := logsWorker(t, "Gateway failed to start: lock timeout after 5000ms (token sk-ant-secret)")
	start := time.Now()
	ds, err := DiagnoseLogs(context.Background(), api, "molt", 5*time.Second, probe)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ID != "gateway-started-twice" {
		t.Fatalf("diagnoses = %+v, want gateway-started-twice", ds)
	}
	if strings.Contains(ds[0].Hint(), "sk-ant-secret") {
		t.Errorf("the hint repeats the log line: %s", ds[0].Hint())
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("took %s: it should stop at the first recognised line", time.Since(start))
	}
	if !rec.balanced() {
		t.Errorf("tails created %d, deleted %d", rec.created, rec.deleted)
	}
}

func TestDiagnoseLogsBoundedAndDeletesTheTail(t *testing.T) {
	t.Parallel()
	api, rec, probe := logsWorker(t, "")
	start := time.Now()
	ds, err := DiagnoseLogs(context.Background(), api, "molt", 300*time.Millisecond, probe)
	if err != nil || len(ds) != 0 {
		t.Fatalf("healthy Worker: %+v, %v", ds, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s for a 300ms window", d)
	}
	if !rec.balanced() {
		t.Errorf("tails created %d, deleted %d", rec.created, rec.deleted)
	}

	// Ctrl-C during the window: the tail is deleted all the same.
	api, rec, _ = logsWorker(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if _, err := DiagnoseLogs(ctx, api, "molt", time.Minute, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
	if !rec.balanced() {
		t.Errorf("after Ctrl-C: tails created %d, deleted %d", rec.created, rec.deleted)
	}
}
