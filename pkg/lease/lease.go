// Package lease holds a deploy lease in the Cloudflare account itself, so
// that two runners which share no disk (two CI pipelines) cannot deploy the
// same Worker at once. pkg/state's file lock covers one checkout.
//
// The lease is an R2 bucket named after the Worker. Creating a bucket whose
// name is taken fails with 10004, which makes taking the lease atomic; an
// object in the bucket names the holder and when the lease expires. The
// holder refreshes it while it works and deletes both when done. A lease
// past its expiry belongs to a run that died, and the next run takes it over.
package lease

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// API is the part of the Cloudflare API a lease uses.
type API interface {
	CreateBucket(ctx context.Context, name, location string) (*cfapi.Bucket, error)
	GetBucket(ctx context.Context, name string) (*cfapi.Bucket, error)
	DeleteBucket(ctx context.Context, name string) (bool, error)
	PutObject(ctx context.Context, bucket, key string, body []byte, contentType string) error
	GetObject(ctx context.Context, bucket, key string) ([]byte, error)
	DeleteObject(ctx context.Context, bucket, key string) error
}

// holderKey is the object that names the holder.
const holderKey = "holder.json"

// Holder says who holds a lease and until when.
type Holder struct {
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
	Expires time.Time `json:"expires"`
}

// Options tune Acquire. The zero value refuses at once when the lease is held.
type Options struct {
	// Wait waits for a held lease to be released or to expire.
	Wait bool
	// Previous is the ID of the lease this checkout last took. A lease with
	// that ID was left by an interrupted run of ours and is taken over.
	Previous string
	// OnWait is called once when Wait starts waiting, with the holder.
	OnWait func(*Holder)
	// TTL is how long a lease lives without a refresh (default 10 minutes).
	TTL time.Duration
	// Poll is how often a waiting run looks again (default 5 seconds).
	Poll time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Meanwhile, when set, runs once the lease's bucket is made, while the
	// holder is being written: the reads a command must make under the
	// lease need not wait for that write, since making the bucket is what
	// takes the lease. Acquire fails (and gives the lease up) when either
	// fails. Hold also runs it where no lease can be kept.
	Meanwhile func(ctx context.Context) error
}

// HeldError is returned when another run holds the lease.
type HeldError struct {
	Worker string
	Bucket string
	Holder *Holder
}

func (e *HeldError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("another moltctl is deploying %s (its lease, R2 bucket %s, is being taken)", e.Worker, e.Bucket)
	}
	return fmt.Sprintf("another moltctl (%q on %s, since %s) is deploying %s",
		e.Holder.Command, e.Holder.Host, e.Holder.Since.UTC().Format(time.RFC3339), e.Worker)
}

// Hint says what to do.
func (e *HeldError) Hint() string {
	h := "wait for it to finish, or pass --wait-lock to wait"
	if e.Holder != nil {
		h += fmt.Sprintf("; if that run died, its lease expires at %s and the next deploy takes it over",
			e.Holder.Expires.UTC().Format(time.RFC3339))
	}
	return h
}

// Lease is a held lease. Release it when the deploy ends.
type Lease struct {
	api    API
	bucket string
	holder Holder
	ttl    time.Duration
	now    func() time.Time
	stop   context.CancelFunc
	done   chan struct{}
}

// ID identifies this lease; keep it so an interrupted run can be recognised.
func (l *Lease) ID() string { return l.holder.ID }

// Bucket is the R2 bucket that holds the lease.
func (l *Lease) Bucket() string { return l.bucket }

var invalidBucketChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9-]+`) })

// BucketName is the lease bucket for worker: "moltctl-lock-<worker>",
// shortened with a hash when the Worker's name does not fit R2's rules.
func BucketName(worker string) string {
	const prefix = "moltctl-lock-"
	clean := strings.Trim(invalidBucketChars().ReplaceAllString(strings.ToLower(worker), "-"), "-")
	if clean == worker && len(prefix)+len(clean) <= 63 {
		return prefix + clean
	}
	sum := sha256.Sum256([]byte(worker))
	suffix := hex.EncodeToString(sum[:4])
	if room := 63 - len(prefix) - len(suffix) - 1; len(clean) > room {
		clean = strings.TrimRight(clean[:room], "-")
	}
	if clean == "" {
		return prefix + suffix
	}
	return prefix + clean + "-" + suffix
}

// ErrUnavailable wraps the reason a lease cannot be kept in this account at
// all (R2 not enabled, no R2 permission); the caller decides whether to go on.
var ErrUnavailable = errors.New("the deploy lease cannot be kept in this account")

// Acquire takes the lease for worker on behalf of command.
func Acquire(ctx context.Context, api API, worker, host, command string, o Options) (*Lease, error) {
	if o.TTL <= 0 {
		o.TTL = 10 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	l := &Lease{api: api, bucket: BucketName(worker), ttl: o.TTL, now: o.Now,
		holder: Holder{ID: newID(), Host: host, Command: command}}
	// A create whose answer was lost may have made the bucket: if it then
	// has no holder, it is ours.
	uncertain := false
	waited := false
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, err := api.CreateBucket(ctx, l.bucket, "")
		switch {
		case err == nil:
			return l.claim(ctx, o.Meanwhile)
		case cfapi.HasCode(err, 10004) || cfapi.IsStatus(err, http.StatusConflict):
		case unavailable(err):
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		case outcomeUnknown(err) && attempt < 5:
			uncertain = true
			continue
		default:
			return nil, fmt.Errorf("take the deploy lease (R2 bucket %s): %w", l.bucket, err)
		}

		h, err := l.read(ctx)
		var takeOver bool
		switch {
		case cfapi.NotFound(err) && uncertain:
			return l.claim(ctx, o.Meanwhile)
		case cfapi.NotFound(err):
			// Made by a run that has not yet written its holder, or died first.
			b, berr := api.GetBucket(ctx, l.bucket)
			if cfapi.NotFound(berr) {
				continue
			}
			if berr != nil {
				return nil, fmt.Errorf("read the deploy lease (R2 bucket %s): %w", l.bucket, berr)
			}
			created, _ := time.Parse(time.RFC3339Nano, b.CreationDate)
			takeOver = !created.IsZero() && o.Now().Sub(created) > time.Minute
		case err != nil:
			return nil, fmt.Errorf("read the deploy lease (R2 bucket %s): %w", l.bucket, err)
		default:
			takeOver = (o.Previous != "" && h.ID == o.Previous) || o.Now().After(h.Expires)
		}
		if takeOver {
			if err := l.remove(ctx); err != nil {
				return nil, fmt.Errorf("take over the expired deploy lease (R2 bucket %s): %w", l.bucket, err)
			}
			continue
		}
		if !o.Wait {
			return nil, &HeldError{Worker: worker, Bucket: l.bucket, Holder: h}
		}
		if !waited && o.OnWait != nil && h != nil {
			o.OnWait(h)
		}
		waited = true
		t := time.NewTimer(o.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// claim writes the holder, running meanwhile (if any) beside that write,
// and keeps refreshing the holder until Release.
func (l *Lease) claim(ctx context.Context, meanwhile func(context.Context) error) (*Lease, error) {
	l.holder.Since = l.now().UTC()
	var merr error
	var wg sync.WaitGroup
	if meanwhile != nil {
		wg.Go(func() { merr = meanwhile(ctx) })
	}
	werr := l.write(ctx)
	wg.Wait()
	if werr != nil || merr != nil {
		_ = l.remove(context.WithoutCancel(ctx))
		if werr != nil {
			return nil, fmt.Errorf("take the deploy lease (R2 bucket %s): %w", l.bucket, werr)
		}
		return nil, merr
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = stop, make(chan struct{})
	go l.refresh(rctx)
	return l, nil
}

func (l *Lease) refresh(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A failed refresh is tried again at the next tick; the lease
			// only lapses if a whole TTL passes without one.
			_ = l.write(ctx)
		}
	}
}

// Release gives the lease up. It has its own short deadline, so it runs
// even after the deploy's context was cancelled by Ctrl-C; a lease it could
// not delete expires on its own.
func (l *Lease) Release() error {
	if l.stop != nil {
		l.stop()
		<-l.done
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.remove(ctx)
}

func (l *Lease) write(ctx context.Context) error {
	l.holder.Expires = l.now().UTC().Add(l.ttl)
	b, _ := json.Marshal(l.holder)
	return l.api.PutObject(ctx, l.bucket, holderKey, b, "application/json")
}

func (l *Lease) read(ctx context.Context) (*Holder, error) {
	b, err := l.api.GetObject(ctx, l.bucket, holderKey)
	if err != nil {
		return nil, err
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil {
		// Unreadable: treat it as expired rather than block every deploy.
		return &Holder{}, nil
	}
	return &h, nil
}

func (l *Lease) remove(ctx context.Context) error {
	if err := l.api.DeleteObject(ctx, l.bucket, holderKey); err != nil && !cfapi.NotFound(err) {
		return err
	}
	if _, err := l.api.DeleteBucket(ctx, l.bucket); err != nil && !cfapi.NotFound(err) {
		return err
	}
	return nil
}

// unavailable: R2 is not enabled or the token may not use it. Preflight
// reports both with their fixes.
func unavailable(err error) bool {
	return cfapi.HasCode(err, 10042) || cfapi.HasCode(err, cfapi.CodeAuthError) || cfapi.IsStatus(err, http.StatusForbidden)
}

// outcomeUnknown: the request may or may not have been applied.
func outcomeUnknown(err error) bool {
	var te *cfapi.TransportError
	var ae *cfapi.APIError
	return errors.As(err, &te) || (errors.As(err, &ae) && ae.StatusCode >= 500)
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Memory is where a checkout keeps the id of the lease it holds
// (state.Store does, beside its lock file).
type Memory interface {
	LeaseID() string
	SetLeaseID(id string) error
}

// Hold takes worker's lease for a command run from a checkout and returns
// the function that releases it. Where no lease can be kept (ErrUnavailable)
// it warns and goes on: the checkout's own lock still holds.
func Hold(ctx context.Context, api API, mem Memory, worker, command string, o Options, warn func(string)) (release func(), err error) {
	host, _ := os.Hostname()
	o.Previous = mem.LeaseID()
	o.OnWait = func(h *Holder) {
		warn(fmt.Sprintf("waiting for %q on %s (since %s) to finish with %s",
			h.Command, h.Host, h.Since.Local().Format(time.Kitchen), worker))
	}
	l, err := Acquire(ctx, api, worker, host, command, o)
	if errors.Is(err, ErrUnavailable) {
		warn("no deploy lease in the account (R2 is not enabled or the token may not use it): only this checkout's lock guards against a concurrent deploy")
		if o.Meanwhile != nil {
			if err := o.Meanwhile(ctx); err != nil {
				return nil, err
			}
		}
		return func() {}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := mem.SetLeaseID(l.ID()); err != nil {
		_ = l.Release()
		return nil, fmt.Errorf("record the deploy lease: %w", err)
	}
	return func() {
		if err := l.Release(); err != nil {
			warn(fmt.Sprintf("could not release the deploy lease (R2 bucket %s): %v; the next deploy from here takes it over, others wait until it expires", l.Bucket(), err))
			return
		}
		_ = mem.SetLeaseID("")
	}, nil
}
