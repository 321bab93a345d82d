package lease

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
)

const worker = "moltbot-sandbox"

func newAPI(t *testing.T, o cfemu.Options) (*cfemu.Server, *cfapi.Client) {
	t.Helper()
	srv := cfemu.New(o).Start()
	t.Cleanup(srv.Close)
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID(),
		Retry: cfapi.RetryPolicy{MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}})
	return srv, api
}

func bucketExists(srv *cfemu.Server, name string) (ok bool) {
	srv.View(func(s *cfemu.State) { ok = s.Buckets[name] != nil })
	return ok
}

func TestSecondRunnerIsRefusedNamingTheFirst(t *testing.T) {
	t.Parallel()
	srv, api := newAPI(t, cfemu.Options{})
	first, err := Acquire(context.Background(), api, worker, "runner-a", "moltctl deploy --yes", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(context.Background(), api, worker, "runner-b", "moltctl deploy --yes", Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder == nil || held.Holder.Host != "runner-a" {
		t.Fatalf("second Acquire = %v, want HeldError naming runner-a", err)
	}
	if !strings.Contains(err.Error(), `"moltctl deploy --yes" on runner-a`) || !strings.Contains(held.Hint(), "--wait-lock") {
		t.Errorf("message %q / hint %q", err, held.Hint())
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if bucketExists(srv, BucketName(worker)) {
		t.Fatal("Release left the lease bucket behind")
	}
	second, err := Acquire(context.Background(), api, worker, "runner-b", "moltctl deploy --yes", Options{})
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	_ = second.Release()
}

func TestWaitingRunnerGoesOnWhenTheFirstReleases(t *testing.T) {
	t.Parallel()
	_, api := newAPI(t, cfemu.Options{})
	first, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var waitedFor atomic.Value
	got := make(chan error, 1)
	go func() {
		l, err := Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{Wait: true, Poll: 10 * time.Millisecond,
			OnWait: func(h *Holder) { waitedFor.Store(h.Host) }})
		if err == nil {
			err = l.Release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the waiting runner went on while the lease was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("waiting Acquire: %v", err)
	}
	if waitedFor.Load() != "runner-a" {
		t.Errorf("OnWait saw %v, want runner-a", waitedFor.Load())
	}
}

func TestWaitStopsWithTheContext(t *testing.T) {
	t.Parallel()
	_, api := newAPI(t, cfemu.Options{})
	first, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, api, worker, "runner-b", "deploy", Options{Wait: true, Poll: 10 * time.Millisecond}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire = %v, want the context's error", err)
	}
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	_, api := newAPI(t, cfemu.Options{Now: clock})
	// A run that died: its lease is never refreshed or released.
	if _, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{TTL: time.Hour, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{Now: clock}); err == nil {
		t.Fatal("a live lease was taken over")
	}
	now = now.Add(61 * time.Minute)
	l, err := Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{Now: clock})
	if err != nil {
		t.Fatalf("Acquire after expiry: %v", err)
	}
	_ = l.Release()
}

func TestOurInterruptedLeaseIsTakenOver(t *testing.T) {
	t.Parallel()
	_, api := newAPI(t, cfemu.Options{})
	left, err := Acquire(context.Background(), api, worker, "ci", "deploy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	left.stop() // the process died: no refresh, no release
	l, err := Acquire(context.Background(), api, worker, "ci", "deploy", Options{Previous: left.ID()})
	if err != nil {
		t.Fatalf("Acquire with our previous lease id: %v", err)
	}
	_ = l.Release()
}

func TestRefreshKeepsTheLeaseAlive(t *testing.T) {
	t.Parallel()
	_, api := newAPI(t, cfemu.Options{})
	l, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{TTL: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	time.Sleep(400 * time.Millisecond) // well past one TTL: only refreshes keep it
	if _, err := Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{}); err == nil {
		t.Fatal("a refreshed lease was taken over")
	}
}

// loseFirstAnswer delivers the first POST and then drops its answer, as a
// connection reset after the server acted would.
type loseFirstAnswer struct{ lost atomic.Bool }

func (l *loseFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && l.lost.CompareAndSwap(false, true) {
		res.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return res, err
}

func TestLostCreateAnswerStillTakesTheLease(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	lossy := &loseFirstAnswer{}
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID(),
		HTTPClient: &http.Client{Transport: lossy}})
	l, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	if !lossy.lost.Load() {
		t.Fatal("the create's answer was not lost; this test proves nothing")
	}
	_, err = Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{})
	if !errors.As(err, new(*HeldError)) {
		t.Fatalf("second Acquire = %v, want HeldError", err)
	}
	_ = l.Release()
}

func TestHalfTakenLeaseIsNotStolen(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	srv, api := newAPI(t, cfemu.Options{Now: clock})
	// Another runner has just created the bucket and not yet named itself.
	if _, err := api.CreateBucket(context.Background(), BucketName(worker), ""); err != nil {
		t.Fatal(err)
	}
	_, err := Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != nil {
		t.Fatalf("Acquire = %v, want HeldError without a holder", err)
	}
	if !bucketExists(srv, BucketName(worker)) {
		t.Fatal("the other runner's lease was removed")
	}
	// A runner that died between the two writes leaves a bucket that, a
	// minute on, is nobody's.
	now = now.Add(2 * time.Minute)
	l, err := Acquire(context.Background(), api, worker, "runner-b", "deploy", Options{Now: clock})
	if err != nil {
		t.Fatalf("Acquire of an abandoned half-taken lease: %v", err)
	}
	_ = l.Release()
}

func TestNoR2MeansNoLease(t *testing.T) {
	t.Parallel()
	srv, api := newAPI(t, cfemu.Options{})
	srv.Update(func(s *cfemu.State) { s.Account.R2Enabled = false })
	if _, err := Acquire(context.Background(), api, worker, "a", "deploy", Options{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Acquire = %v, want ErrUnavailable", err)
	}
}

func TestBucketName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"moltbot-sandbox":       "moltctl-lock-moltbot-sandbox",
		"my_worker":             "moltctl-lock-my-worker-",
		strings.Repeat("a", 63): "moltctl-lock-" + strings.Repeat("a", 41),
	} {
		got := BucketName(in)
		if !strings.HasPrefix(got, want) || len(got) > 63 || strings.HasSuffix(got, "-") {
			t.Errorf("BucketName(%q) = %q, want a valid name starting %q", in, got, want)
		}
	}
	if BucketName("a_b") == BucketName("a-b") {
		t.Error("names that differ only in an invalid character share a bucket")
	}
}

// holdHolderWrite keeps the holder's PUT from leaving until release is
// closed, or fails it after a few seconds.
type holdHolderWrite struct {
	release  chan struct{}
	timedOut atomic.Bool
}

func (h *holdHolderWrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/"+holderKey) {
		select {
		case <-h.release:
		case <-time.After(5 * time.Second):
			h.timedOut.Store(true)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestMeanwhileRunsBesideTheHolderWrite(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	t.Cleanup(srv.Close)
	hold := &holdHolderWrite{release: make(chan struct{})}
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID(),
		HTTPClient: &http.Client{Transport: hold}})
	var sawBucket bool
	l, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{Meanwhile: func(ctx context.Context) error {
		// The lease is taken: its bucket exists before the reads start.
		sawBucket = bucketExists(srv, BucketName(worker))
		close(hold.release)
		return nil
	}})
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	defer l.Release()
	if hold.timedOut.Load() {
		t.Error("Meanwhile ran only after the holder was written")
	}
	if !sawBucket {
		t.Error("Meanwhile ran before the lease's bucket was made")
	}
}

func TestMeanwhileFailureGivesTheLeaseUp(t *testing.T) {
	t.Parallel()
	srv, api := newAPI(t, cfemu.Options{})
	boom := errors.New("read failed")
	if _, err := Acquire(context.Background(), api, worker, "runner-a", "deploy", Options{Meanwhile: func(context.Context) error { return boom }}); !errors.Is(err, boom) {
		t.Fatalf("Acquire = %v, want the Meanwhile error", err)
	}
	if bucketExists(srv, BucketName(worker)) {
		t.Error("the lease was kept after Meanwhile failed")
	}
}

type memory struct{ id string }

func (m *memory) LeaseID() string            { return m.id }
func (m *memory) SetLeaseID(id string) error { m.id = id; return nil }

func TestHoldRunsMeanwhileWithoutR2(t *testing.T) {
	t.Parallel()
	srv, api := newAPI(t, cfemu.Options{})
	srv.Update(func(s *cfemu.State) { s.Account.R2Enabled = false })
	ran := false
	release, err := Hold(context.Background(), api, &memory{}, worker, "deploy", Options{Meanwhile: func(context.Context) error { ran = true; return nil }}, func(string) {})
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	release()
	if !ran {
		t.Error("Meanwhile did not run where no lease can be kept")
	}
}
