package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/remotestate"
	"github.com/moltctl/moltctl/pkg/state"
)

func localCreds(t *testing.T, dir string) *state.Credentials {
	t.Helper()
	store, err := state.Open(dir, "moltbot-sandbox")
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.LoadCredentials()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withEnv runs a deploy with some environment variables changed.
func withEnv(kv map[string]string, next func(*DeployOptions)) func(*DeployOptions) {
	return func(o *DeployOptions) {
		get := o.F.Getenv
		o.F.Getenv = func(k string) string {
			if v, ok := kv[k]; ok {
				return v
			}
			return get(k)
		}
		if next != nil {
			next(o)
		}
	}
}

// Two fresh checkouts of the same project, one user (one key), deploying
// in turn: the second finds everything in the account and changes nothing;
// the first still reaches the assistant afterwards.
func TestSecondCheckoutChangesNothing(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	first, second := testenv.CopyExample(t), testenv.CopyExample(t)
	if r := deployOnce(context.Background(), t, srv, first, nil, nil); r.err != nil {
		t.Fatalf("first checkout: %v\n%s", r.err, r.stderr)
	}
	want := endState(srv)
	a := localCreds(t, first)

	mark := len(log.Lines())
	r := deployOnce(context.Background(), t, srv, second, nil, nil)
	if r.err != nil {
		t.Fatalf("second checkout: %v\n%s", r.err, r.stderr)
	}
	for _, c := range log.ChangesSince(mark) {
		t.Errorf("the second checkout changed the account: %s", c)
	}
	if got := endState(srv); got != want {
		t.Errorf("end state:\n got %s\nwant %s", got, want)
	}
	b := localCreds(t, second)
	if b.ServiceTokenClientSecret != a.ServiceTokenClientSecret || b.Generated["MOLTBOT_GATEWAY_TOKEN"] != a.Generated["MOLTBOT_GATEWAY_TOKEN"] ||
		b.Generated["R2_SECRET_ACCESS_KEY"] != a.Generated["R2_SECRET_ACCESS_KEY"] {
		t.Error("the second checkout does not hold the first one's credentials")
	}

	// The first checkout keeps working: a deploy from it changes nothing.
	mark = len(log.Lines())
	if r := deployOnce(context.Background(), t, srv, first, nil, nil); r.err != nil || !decodeResult(t, r.stdout).Running {
		t.Fatalf("first checkout again: %v\n%s", r.err, r.stderr)
	}
	for _, c := range log.ChangesSince(mark) {
		t.Errorf("the first checkout, after the second, changed the account: %s", c)
	}

	// The account holds no secret in clear.
	var obj []byte
	srv.View(func(s *cfemu.State) {
		obj = s.Buckets[remotestate.Bucket].Store[remotestate.ObjectKey("moltbot-sandbox")].Data
	})
	for _, v := range []string{a.ServiceTokenClientSecret, a.Generated["MOLTBOT_GATEWAY_TOKEN"], a.Generated["R2_SECRET_ACCESS_KEY"], fakeAnthropicKey} {
		if v == "" || strings.Contains(string(obj), v) {
			t.Errorf("a secret is missing or in clear in the state object")
		}
	}
}

// A machine without the key keeps every credential as it is and says why.
func TestCheckoutWithoutTheKeyRotatesNothing(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	if r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, nil); r.err != nil {
		t.Fatalf("first checkout: %v\n%s", r.err, r.stderr)
	}
	want := endState(srv)
	mark := len(log.Lines())
	other := withEnv(map[string]string{"MOLTCTL_CONFIG_DIR": t.TempDir()}, nil)
	r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, other)
	if r.err != nil {
		t.Fatalf("checkout without the key: %v\n%s", r.err, r.stderr)
	}
	for _, c := range log.ChangesSince(mark) {
		t.Errorf("the checkout without the key changed the account: %s", c)
	}
	if got := endState(srv); got != want {
		t.Errorf("end state:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(r.stderr, "sealed to key age1") || !strings.Contains(r.stderr, "moltctl open") {
		t.Errorf("stderr does not say the key is needed:\n%s", r.stderr)
	}
}

// A checkout whose state is only local (as moltctl kept it before) moves it
// into the account on its next deploy, rotating nothing; a second checkout
// then finds it there.
func TestLocalStateMovesIntoTheAccount(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, log := newEmulator(t, cfemu.FaultOptions{})
	first := testenv.CopyExample(t)
	if r := deployOnce(context.Background(), t, srv, first, nil, nil); r.err != nil {
		t.Fatalf("first deploy: %v\n%s", r.err, r.stderr)
	}
	want := endState(srv)
	// What an older moltctl leaves: the state in .moltctl/ only, no key.
	srv.Update(func(s *cfemu.State) { delete(s.Buckets, remotestate.Bucket) })
	keyDir := filepath.Join(filepath.Dir(first), "config")
	if err := os.RemoveAll(keyDir); err != nil {
		t.Fatal(err)
	}

	mark := len(log.Lines())
	r := deployOnce(context.Background(), t, srv, first, nil, nil)
	if r.err != nil {
		t.Fatalf("deploy after the upgrade: %v\n%s", r.err, r.stderr)
	}
	for _, c := range log.ChangesSince(mark) {
		t.Errorf("moving the state changed the account: %s", c)
	}
	if _, err := os.Stat(filepath.Join(keyDir, "age.key")); err != nil {
		t.Errorf("no key was created: %v", err)
	}
	mark = len(log.Lines())
	if r := deployOnce(context.Background(), t, srv, testenv.CopyExample(t), nil, nil); r.err != nil {
		t.Fatalf("second checkout: %v\n%s", r.err, r.stderr)
	}
	for _, c := range log.ChangesSince(mark) {
		t.Errorf("the second checkout changed the account: %s", c)
	}
	if got := endState(srv); got != want {
		t.Errorf("end state:\n got %s\nwant %s", got, want)
	}
}

// A credential changes only when asked, and then everywhere: the Worker,
// the gateway (restarted) and the sealed copy another checkout reads.
func TestRotateReplacesEverywhere(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv, _ := newEmulator(t, cfemu.FaultOptions{})
	first := testenv.CopyExample(t)
	if r := deployOnce(context.Background(), t, srv, first, nil, nil); r.err != nil {
		t.Fatalf("deploy: %v\n%s", r.err, r.stderr)
	}
	before := localCreds(t, first)
	// Without a terminal, replacing a credential needs --yes.
	if r := deployOnce(context.Background(), t, srv, first, nil, func(o *DeployOptions) { o.Rotate, o.F.Global.Yes = "service-token", false }); r.code != clierr.ExitUsage {
		t.Fatalf("rotate without --yes: code %d, err %v", r.code, r.err)
	}
	if localCreds(t, first).ServiceTokenClientSecret != before.ServiceTokenClientSecret {
		t.Fatal("rotate without --yes replaced the service token")
	}
	for _, name := range []string{"MOLTBOT_GATEWAY_TOKEN", "service-token", "r2-token"} {
		if r := deployOnce(context.Background(), t, srv, first, nil, func(o *DeployOptions) { o.Rotate = name }); r.err != nil {
			t.Fatalf("rotate %s: %v\n%s", name, r.err, r.stderr)
		}
	}
	if r := deployOnce(context.Background(), t, srv, first, nil, func(o *DeployOptions) { o.Rotate = "ANTHROPIC_API_KEY" }); r.err == nil {
		t.Error("rotating a secret moltctl did not make succeeded")
	}
	after := localCreds(t, first)
	if after.Generated["MOLTBOT_GATEWAY_TOKEN"] == before.Generated["MOLTBOT_GATEWAY_TOKEN"] ||
		after.ServiceTokenClientSecret == before.ServiceTokenClientSecret ||
		after.Generated["R2_SECRET_ACCESS_KEY"] == before.Generated["R2_SECRET_ACCESS_KEY"] {
		t.Fatal("a credential was not replaced")
	}
	srv.View(func(s *cfemu.State) {
		if got := s.Scripts["moltbot-sandbox"].Secrets["MOLTBOT_GATEWAY_TOKEN"]; got != after.Generated["MOLTBOT_GATEWAY_TOKEN"] {
			t.Error("the Worker does not hold the new gateway token")
		}
		if n := len(s.Access.ServiceTokens); n != 1 {
			t.Errorf("%d service tokens, want the new one only", n)
		}
	})
	if !gatewayRunning(srv) {
		t.Error("the gateway is not running after the rotations")
	}
	// Another checkout reads the new ones and changes nothing.
	second := testenv.CopyExample(t)
	if r := deployOnce(context.Background(), t, srv, second, nil, nil); r.err != nil {
		t.Fatalf("second checkout: %v\n%s", r.err, r.stderr)
	}
	if got := localCreds(t, second); got.Generated["MOLTBOT_GATEWAY_TOKEN"] != after.Generated["MOLTBOT_GATEWAY_TOKEN"] ||
		got.ServiceTokenClientSecret != after.ServiceTokenClientSecret {
		t.Error("the second checkout does not hold the rotated credentials")
	}
}
