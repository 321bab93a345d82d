package worker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeAccount is an account with scripts, one container application per
// namespace and images; no Access.
type fakeAccount struct {
	scripts map[string]Script
	apps    map[string]string // namespace → image
	images  map[string]bool
}

func (f *fakeAccount) Script(name string) (Script, bool) {
	sc, found := f.scripts[name]
	return sc, found
}
func (f *fakeAccount) Subdomain() string { return "emulated" }
func (f *fakeAccount) ContainerImage(ns string) (string, bool) {
	img, found := f.apps[ns]
	return img, found
}
func (f *fakeAccount) ImageExists(ref string) bool                                    { return f.images[ref] }
func (f *fakeAccount) BucketExists(string) bool                                       { return false }
func (f *fakeAccount) AccessAuthDomain() (string, bool)                               { return "", false }
func (f *fakeAccount) AccessApp(string, string) (AccessApp, bool)                     { return AccessApp{}, false }
func (f *fakeAccount) EmailAdmitted(AccessApp, string) bool                           { return false }
func (f *fakeAccount) ServiceTokenAdmitted(AccessApp, string, string, time.Time) bool { return false }

func newHost(acct *fakeAccount) (*Host, *Saved) {
	saved := &Saved{}
	return New(Config{Lock: &sync.Mutex{}, Account: acct, Saved: saved, Now: time.Now, ColdStart: 20 * time.Millisecond}), saved
}

func moltAccount() *fakeAccount {
	return &fakeAccount{
		scripts: map[string]Script{"molt": {Env: map[string]string{"MOLTBOT_GATEWAY_TOKEN": "t", "SECRET_NOT_PASSED": "x"}, WorkersDev: true, SandboxNamespace: "ns1"}},
		apps:    map[string]string{"ns1": "reg/acct/molt:1"},
		images:  map[string]bool{"reg/acct/molt:1": true},
	}
}

func TestGatewayStartsAfterItsColdStart(t *testing.T) {
	t.Parallel()
	h, saved := newHost(moltAccount())
	if g := h.Gateway("molt"); g.Status != StatusNotRunning {
		t.Fatalf("before a start: %+v", g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.EnsureGateway(ctx, "molt"); err != nil {
		t.Fatal(err)
	}
	g := h.Gateway("molt")
	if g.Status != StatusRunning || g.ProcessID == "" || g.Env["MOLTBOT_GATEWAY_TOKEN"] != ShortHash("t") {
		t.Errorf("after EnsureGateway: %+v", g)
	}
	if _, passed := g.Env["SECRET_NOT_PASSED"]; passed {
		t.Error("the gateway got a variable moltworker does not pass")
	}
	if saved.Runtimes["molt"] == nil {
		t.Error("the runtime is not in the saved state")
	}
}

func TestGatewayNeedsItsContainerAndImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	acct := moltAccount()
	delete(acct.images, "reg/acct/molt:1")
	h, _ := newHost(acct)
	if err := h.EnsureGateway(ctx, "molt"); err == nil {
		t.Error("a gateway started without its image")
	}
	delete(acct.apps, "ns1")
	if err := h.EnsureGateway(ctx, "molt"); !errors.Is(err, errNoContainerApp) {
		t.Errorf("without an application: %v", err)
	}
	if err := h.EnsureGateway(ctx, "gone"); err == nil {
		t.Error("a gateway started for a deleted Worker")
	}
}

func TestFaultedGatewayNeverListens(t *testing.T) {
	t.Parallel()
	h, _ := newHost(moltAccount())
	h.SetGatewayFault("molt", "lock timeout")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := h.EnsureGateway(ctx, "molt"); err == nil {
		t.Fatal("a faulted gateway started")
	}
	if g := h.Gateway("molt"); g.Status != StatusStarting {
		t.Errorf("status %q, want starting for ever", g.Status)
	}
}

func TestDevicesAndPrune(t *testing.T) {
	t.Parallel()
	acct := moltAccount()
	h, saved := newHost(acct)
	if _, err := h.AddPendingDevice("nope"); err == nil {
		t.Error("a device for a Worker that does not exist")
	}
	id, err := h.AddPendingDevice("molt")
	if err != nil || len(saved.Runtimes["molt"].Pending) != 1 {
		t.Fatalf("AddPendingDevice = %q, %v", id, err)
	}
	rt := saved.Runtimes["molt"]
	if got := h.approveLocked(rt, id); got != id || len(rt.Pending) != 0 || len(rt.Paired) != 1 {
		t.Errorf("approve: %q, %d pending, %d paired", got, len(rt.Pending), len(rt.Paired))
	}
	tail, _ := h.CreateTail("molt")
	delete(acct.scripts, "molt")
	h.PruneLocked()
	if saved.Runtimes["molt"] != nil || h.DeleteTail("molt", tail) {
		t.Error("a deleted Worker's runtime or tail is left")
	}
}
