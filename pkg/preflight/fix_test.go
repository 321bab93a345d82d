package preflight

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/client"
)

// After fixes, the checks run again on the same Env: what they learned
// from the API is asked anew, while the loaded inputs stay as they were.
func TestApplyFixesThenRecheck(t *testing.T) {
	t.Parallel()
	bucket := false // the account, as the API would report it
	reads := 0
	check := Check{ID: "bucket", Run: func(ctx context.Context, env *Env) Result {
		has, _ := Shared(env, "buckets", func() (bool, error) { reads++; return bucket, nil })
		if has {
			return OK("the bucket exists")
		}
		r := Fail("create it", "no bucket")
		r.Action = &Action{Summary: "create the bucket", Apply: func(context.Context, *Env) error { bucket = true; return nil }}
		return r
	}}
	failing := Check{ID: "broken", Run: func(context.Context, *Env) Result {
		r := Fail("", "broken")
		r.Action = &Action{Summary: "cannot", Apply: func(context.Context, *Env) error { return errors.New("refused") }}
		return r
	}}
	env := NewEnv(Inputs{AccountID: "acct"})
	checks := []Check{check, failing}
	r := Run(context.Background(), checks, env)
	var done []string
	n := ApplyFixes(context.Background(), env, r.Actions(), func(o Outcome, err error) {
		done = append(done, o.ID+":"+map[bool]string{true: "ok", false: "failed"}[err == nil])
	})
	if n != 2 || len(done) != 2 || done[0] != "bucket:ok" || done[1] != "broken:failed" {
		t.Fatalf("attempted %d, reported %v", n, done)
	}
	r = Run(context.Background(), checks, env)
	if c, _ := r.Get("bucket"); c.Status != StatusOK || reads != 2 {
		t.Errorf("recheck: %s %q after %d reads, want ok after 2", c.Status, c.Message, reads)
	}
	if env.AccountID != "acct" {
		t.Errorf("the inputs changed: account %q", env.AccountID)
	}
	if n := ApplyFixes(context.Background(), env, nil, nil); n != 0 {
		t.Errorf("no fixes: attempted %d", n)
	}
}

// The Docker checks reach the daemon through the connection they are
// given (the Factory's), never one of their own.
func TestDockerProberUsesGivenConnection(t *testing.T) {
	t.Parallel()
	refused := errors.New("the given connection")
	calls := 0
	p := NewDockerProber(func(context.Context) (*client.Client, error) { calls++; return nil, refused },
		func(string) string { return "" })
	if _, err := p.Probe(context.Background()); !errors.Is(err, refused) || calls != 1 {
		t.Errorf("Probe: %v after %d connects", err, calls)
	}
}
