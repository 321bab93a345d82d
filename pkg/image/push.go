package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/safehttp"
)

// Auth is a registry login (the short-lived credentials of
// cfapi.RegistryCredentials). It is sent only to the registry.
type Auth struct {
	Username string
	Password string
}

// String never shows the password.
func (a Auth) String() string { return "registry login " + a.Username + " (password redacted)" }

// GoString is String.
func (a Auth) GoString() string { return a.String() }

func (a Auth) authenticator() authn.Authenticator {
	if a.Username == "" && a.Password == "" {
		return authn.Anonymous
	}
	return &authn.Basic{Username: a.Username, Password: a.Password}
}

// RegistryAuthError is the registry refusing the credentials or the
// repository: on Cloudflare that is the plan, Containers not enabled, or
// the token's permission — not a bare "Unauthorized".
type RegistryAuthError struct {
	Host   string
	Status int
	Err    error
}

func (e *RegistryAuthError) Error() string {
	what := "refused the credentials"
	if e.Status == http.StatusForbidden {
		what = "denied access to the repository"
	}
	return fmt.Sprintf("registry %s %s (HTTP %d %s)", e.Host, what, e.Status, http.StatusText(e.Status))
}

func (e *RegistryAuthError) Unwrap() error { return e.Err }

// Hint explains the usual causes.
func (e *RegistryAuthError) Hint() string {
	return cfapi.ContainersFix + "; registry credentials last 15 minutes, so a slow push may need a re-run"
}

// classify turns a registry error into a RegistryAuthError when it is one.
func classify(err error, host string) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return &RegistryAuthError{Host: host, Status: te.StatusCode, Err: err}
	}
	return err
}

// transient reports whether a push error is worth retrying.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// registryTransport is rt (nil: a new safehttp transport) behind
// safehttp's rules: the registry is https unless it is this machine (the
// registry client itself would speak plain http to any RFC 1918 or .local
// host), a redirect never leaves the registry's host and port nor carries
// the login, and a layer upload that moves no byte for safehttp.IdleTimeout
// is abandoned (and retried) rather than waited on forever.
func registryTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return safehttp.NewTransport()
	}
	if _, ok := rt.(*safehttp.Transport); ok {
		return rt
	}
	return &safehttp.Transport{Next: rt}
}

// registryCallTimeout bounds one registry question (does it have this tag,
// this blob?), its retries included. Uploads are bounded by safehttp's
// no-progress timeout instead: a large layer may rightly take long.
var registryCallTimeout = 2 * time.Minute

// checkRegistry refuses, before any connection, a registry the registry
// client would speak plain http to though it is not this machine.
func checkRegistry(reg name.Registry) error {
	return safehttp.CheckURL("the registry", reg.Scheme()+"://"+reg.RegistryStr())
}

// remoteOptions are the retry and transport options for every registry call.
func remoteOptions(ctx context.Context, auth Auth, rt http.RoundTripper) []remote.Option {
	rt = registryTransport(rt)
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth.authenticator()),
		remote.WithTransport(rt),
		remote.WithRetryBackoff(remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.2, Steps: 4}),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout),
		remote.WithUserAgent("moltctl"),
	}
}

// RemoteDigest returns the digest of ref ("host/account/app:tag") in the
// registry, or "" when the registry does not have it.
func RemoteDigest(ctx context.Context, ref string, auth Auth, rt http.RoundTripper) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	if err := checkRegistry(r.Context().Registry); err != nil {
		return "", err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, registryCallTimeout)
	defer cancel()
	desc, err := remote.Head(r, remoteOptions(ctx, auth, rt)...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return "", nil
		}
		if parent.Err() == nil && ctx.Err() != nil {
			return "", fmt.Errorf("ask registry %s for %s: no answer within %s", r.Context().RegistryStr(), ref, registryCallTimeout)
		}
		return "", fmt.Errorf("ask registry for %s: %w", ref, classify(err, r.Context().RegistryStr()))
	}
	return desc.Digest.String(), nil
}

// PushRequest asks for a local image to be pushed.
type PushRequest struct {
	// ImageID is the local image (ID or name).
	ImageID string
	// Ref is where to push it: "<host>/<account>/<app>:<tag>".
	Ref  string
	Auth Auth
	// Jobs is how many layers are sent at once (default 3).
	Jobs     int
	Progress Progress
	// Transport is for tests; nil uses go-containerregistry's default.
	Transport http.RoundTripper
}

// PushResult is what Push sent.
type PushResult struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest"`
	// BytesPushed counts the layer and config blobs sent (compressed).
	BytesPushed int64 `json:"bytes_pushed"`
	// ImageBytes is the compressed size of every layer and the config.
	ImageBytes    int64 `json:"image_bytes"`
	LayersPushed  int   `json:"layers_pushed"`
	LayersSkipped int   `json:"layers_skipped"`
}

// Push reads the image from the daemon (docker save) and writes it to the
// registry with go-containerregistry: it asks the registry for each layer
// first and sends only those it lacks, reports bytes and speed per layer,
// and retries transient failures with backoff.
func Push(ctx context.Context, engine Engine, req PushRequest) (*PushResult, error) {
	ref, err := name.ParseReference(req.Ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", req.Ref, err)
	}
	host := ref.Context().RegistryStr()
	if err := checkRegistry(ref.Context().Registry); err != nil {
		return nil, err
	}
	img, cleanup, err := loadFromDaemon(ctx, engine, req.ImageID)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	opts := remoteOptions(ctx, req.Auth, req.Transport)
	repo := ref.Context()
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", req.ImageID, err)
	}
	res := &PushResult{Ref: req.Ref}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read image config: %w", err)
	}
	// Connecting asks the registry's /v2/ first, outside go-containerregistry's
	// retries: a 429 or 5xx there is retried as every other call is.
	var checker *blobChecker
	err = retry(ctx, func() (err error) {
		checker, err = newBlobChecker(ctx, repo, req.Auth, req.Transport)
		return err
	}, func(attempt int, err error) {
		req.Progress.emit(Event{Kind: EventRetry, Message: fmt.Sprintf("registry: %v; retry %d", err, attempt)})
	})
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", req.Ref, classify(err, host))
	}
	type job struct {
		layer  v1.Layer
		digest v1.Hash
		size   int64
	}
	var todo []job
	seen := map[v1.Hash]bool{}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, fmt.Errorf("read layer: %w", err)
		}
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("read layer: %w", err)
		}
		res.ImageBytes += size
		if seen[d] {
			continue
		}
		seen[d] = true
		has, err := checker.has(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("push %s: %w", req.Ref, classify(err, host))
		}
		if has {
			res.LayersSkipped++
			req.Progress.emit(Event{Kind: EventLayerExists, Layer: ShortID(d.String()), Total: size})
			continue
		}
		todo = append(todo, job{l, d, size})
	}
	res.ImageBytes += int64(len(rawCfg))
	if has, err := checker.has(ctx, cfgName); err != nil {
		return nil, fmt.Errorf("push %s: %w", req.Ref, classify(err, host))
	} else if !has {
		res.BytesPushed += int64(len(rawCfg))
	}

	jobs := req.Jobs
	if jobs <= 0 {
		jobs = 3
	}
	sem := make(chan struct{}, jobs)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for _, j := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := pushLayer(ctx, repo, j.layer, ShortID(j.digest.String()), j.size, opts, req.Progress)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("push layer %s: %w", ShortID(j.digest.String()), classify(err, host))
				}
				return
			}
			res.LayersPushed++
			res.BytesPushed += j.size
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	// The layers are there now: Write sends the config and the manifest.
	if err := retry(ctx, func() error { return remote.Write(ref, img, opts...) }, func(attempt int, err error) {
		req.Progress.emit(Event{Kind: EventRetry, Message: fmt.Sprintf("manifest: %v; retry %d", err, attempt)})
	}); err != nil {
		return nil, fmt.Errorf("push %s: %w", req.Ref, classify(err, host))
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	res.Digest = d.String()
	req.Progress.emit(Event{Kind: EventPushed, Ref: req.Ref, Digest: res.Digest, Bytes: res.BytesPushed})
	return res, nil
}

// retry runs f up to 4 times while its error is transient, with backoff.
func retry(ctx context.Context, f func() error, onRetry func(attempt int, err error)) error {
	delay := time.Second
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil || !transient(err) || attempt >= 4 {
			return err
		}
		if onRetry != nil {
			onRetry(attempt, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func pushLayer(ctx context.Context, repo name.Repository, l v1.Layer, short string, size int64, opts []remote.Option, p Progress) error {
	p.emit(Event{Kind: EventLayerStart, Layer: short, Total: size})
	start := time.Now()
	err := retry(ctx, func() error {
		updates := make(chan v1.Update, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for u := range updates {
				el := time.Since(start).Seconds()
				var bps float64
				if el > 0 {
					bps = float64(u.Complete) / el
				}
				p.emit(Event{Kind: EventLayerBytes, Layer: short, Bytes: u.Complete, Total: size, BytesPerSec: bps})
			}
		}()
		o := append(append([]remote.Option{}, opts...), remote.WithProgress(updates))
		err := remote.WriteLayer(repo, l, o...)
		<-done
		return err
	}, func(attempt int, err error) {
		p.emit(Event{Kind: EventRetry, Layer: short, Message: fmt.Sprintf("%v; retry %d", err, attempt)})
		start = time.Now()
	})
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	var bps float64
	if el > 0 {
		bps = float64(size) / el
	}
	p.emit(Event{Kind: EventLayerDone, Layer: short, Bytes: size, Total: size, BytesPerSec: bps})
	return nil
}

// blobChecker asks the registry whether it has a blob (HEAD /v2/<repo>/blobs/<digest>).
type blobChecker struct {
	repo   name.Repository
	client *http.Client
}

func newBlobChecker(ctx context.Context, repo name.Repository, auth Auth, rt http.RoundTripper) (*blobChecker, error) {
	if err := checkRegistry(repo.Registry); err != nil {
		return nil, err
	}
	t, err := transport.NewWithContext(ctx, repo.Registry, auth.authenticator(), registryTransport(rt), []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, err
	}
	return &blobChecker{repo: repo, client: &http.Client{Transport: t, CheckRedirect: safehttp.CheckRedirect, Timeout: safehttp.RequestTimeout}}, nil
}

func (b *blobChecker) has(ctx context.Context, d v1.Hash) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, registryCallTimeout)
	defer cancel()
	u := fmt.Sprintf("%s://%s/v2/%s/blobs/%s", b.repo.Registry.Scheme(), b.repo.RegistryStr(), b.repo.RepositoryStr(), d)
	var found bool
	err := retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			return err
		}
		res, err := b.client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK:
			found = true
			return nil
		case http.StatusNotFound:
			found = false
			return nil
		}
		return transport.CheckError(res, http.StatusOK)
	}, nil)
	return found, err
}

// loadFromDaemon saves the image from the daemon to a temporary file and
// opens it as a go-containerregistry image.
func loadFromDaemon(ctx context.Context, engine Engine, id string) (v1.Image, func(), error) {
	rc, err := engine.ImageSave(ctx, []string{id})
	if err != nil {
		return nil, nil, fmt.Errorf("read image %s from docker: %w", ShortID(id), err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "moltctl-image-*.tar")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.Remove(f.Name()) }
	_, err = io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("read image %s from docker: %w", ShortID(id), err)
	}
	img, err := tarball.ImageFromPath(f.Name(), nil)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("read image %s from docker: %w", ShortID(id), err)
	}
	return img, cleanup, nil
}
