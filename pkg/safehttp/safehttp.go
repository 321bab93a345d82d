// Package safehttp holds the transport rules every outbound request of
// moltctl follows, whatever the client: plain HTTP only to this machine,
// redirects never followed to another host or port, with a body or with
// credentials, and waits bounded.
//
// "This machine" is decided from the name alone, never by DNS: a literal
// 127.0.0.0/8 or ::1 address, localhost or a name under .localhost (RFC
// 6761 reserves both for loopback). A name that merely resolves to
// 127.0.0.1 could resolve elsewhere tomorrow.
package safehttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults for the bounds every client uses.
const (
	// DialTimeout bounds connecting and the TLS handshake.
	DialTimeout = 30 * time.Second
	// HeaderTimeout bounds the wait for a response's headers once the
	// request is sent.
	HeaderTimeout = 60 * time.Second
	// RequestTimeout bounds a whole ordinary request (not a stream).
	RequestTimeout = 60 * time.Second
	// IdleTimeout is how long a stream (an image layer upload, a body
	// being read) may go without a byte moving before it is abandoned.
	IdleTimeout = 60 * time.Second
)

// IsLoopback reports whether host (without a port; brackets allowed) names
// this machine without asking DNS.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// InsecureError is a plain-HTTP URL for a host that is not this machine.
type InsecureError struct {
	What string // "the API base URL", "the registry"
	URL  string
}

func (e *InsecureError) Error() string {
	return fmt.Sprintf("%s %s is plain http to a host that is not this machine: credentials would cross the network in clear text", e.What, e.URL)
}

// Hint says what to do.
func (e *InsecureError) Hint() string {
	return "use an https:// URL (plain http is accepted only for 127.0.0.1, ::1, localhost and *.localhost)"
}

// CheckURL returns an *InsecureError unless raw is https, or http to a
// loopback host; what names the URL in the error.
func CheckURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not a URL with a host", what, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		return nil
	case "http", "ws":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return &InsecureError{What: what, URL: u.Scheme + "://" + u.Host}
	}
	return fmt.Errorf("%s %q: scheme %q is not https", what, raw, u.Scheme)
}

// ErrRedirect is wrapped by the error of a redirect moltctl refused.
var ErrRedirect = errors.New("redirect refused")

// credentialHeaders are the request headers that carry credentials.
var credentialHeaders = []string{"Authorization", "Cf-Access-Client-Secret", "Cookie", "X-Auth-Key"}

// checkRedirect decides whether next, a redirect of prev, may be sent.
func checkRedirect(next, prev *http.Request) error {
	if origin(next.URL) != origin(prev.URL) {
		return fmt.Errorf("%w: %s %s redirected to another host or port (%s)", ErrRedirect, prev.Method, origin(prev.URL), origin(next.URL))
	}
	if next.Body != nil && next.Body != http.NoBody || next.ContentLength > 0 {
		return fmt.Errorf("%w: %s %s redirected with its body (HTTP %s)", ErrRedirect, prev.Method, origin(prev.URL), statusOf(next))
	}
	for _, h := range credentialHeaders {
		if next.Header.Get(h) != "" {
			return fmt.Errorf("%w: %s %s redirected a request that carries credentials (HTTP %s)", ErrRedirect, prev.Method, origin(prev.URL), statusOf(next))
		}
	}
	return nil
}

func statusOf(r *http.Request) string {
	if r.Response != nil {
		return r.Response.Status
	}
	return "3xx"
}

// origin is scheme://host:port with the scheme's default port made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// CheckRedirect is an http.Client.CheckRedirect that follows a redirect
// only to the same scheme, host and port, without a body and without
// credentials, at most 10 times.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("%w: stopped after 10 redirects", ErrRedirect)
	}
	return checkRedirect(req, via[len(via)-1])
}

// Transport enforces the rules at the round trip, for clients whose
// CheckRedirect moltctl does not own (the registry client builds its own
// http.Client around the transport it is given): plain HTTP only to
// loopback, redirects as CheckRedirect allows, and no more than Idle
// without a byte moving in either direction.
type Transport struct {
	Next http.RoundTripper
	// Idle is the no-progress timeout; zero means IdleTimeout, negative none.
	Idle time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := CheckURL("request to", req.URL.String()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	if req.Response != nil && req.Response.Request != nil {
		if err := checkRedirect(req, req.Response.Request); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	next := t.Next
	if next == nil {
		next = http.DefaultTransport
	}
	idle := t.Idle
	if idle == 0 {
		idle = IdleTimeout
	}
	if idle < 0 {
		return next.RoundTrip(req)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{idle: idle, cancel: cancel}
	w.timer = time.AfterFunc(idle, w.fire)
	req = req.Clone(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &progressBody{rc: req.Body, w: w}
	}
	res, err := next.RoundTrip(req)
	if err != nil {
		w.stop()
		if c := context.Cause(ctx); errors.Is(c, errIdle) {
			return nil, c
		}
		return nil, err
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// A WebSocket: its body is the connection, quiet for as long as the
		// stream is, and the caller bounds it.
		w.timer.Stop()
		return res, nil
	}
	w.poke()
	res.Body = &progressBody{rc: res.Body, w: w, ctx: ctx, done: true}
	return res, nil
}

var errIdle = errors.New("no data moved")

// IdleError is a request abandoned because nothing moved for Idle.
type IdleError struct{ Idle time.Duration }

func (e *IdleError) Error() string { return fmt.Sprintf("no data moved for %s", e.Idle) }
func (e *IdleError) Unwrap() error { return errIdle }

// Timeout lets net.Error-style checks treat it as a timeout.
func (e *IdleError) Timeout() bool { return true }

// watchdog cancels a request when no byte has moved for idle.
type watchdog struct {
	mu     sync.Mutex
	idle   time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
}

func (w *watchdog) fire() { w.cancel(&IdleError{Idle: w.idle}) }

func (w *watchdog) poke() {
	w.mu.Lock()
	w.timer.Reset(w.idle)
	w.mu.Unlock()
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel(nil)
}

// progressBody pokes the watchdog on every read; the response body also
// stops it on Close.
type progressBody struct {
	rc   io.ReadCloser
	w    *watchdog
	ctx  context.Context
	done bool // the response body: Close ends the request
}

func (b *progressBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.poke()
	}
	if err != nil && b.ctx != nil {
		if c := context.Cause(b.ctx); errors.Is(c, errIdle) {
			err = c
		}
	}
	return n, err
}

func (b *progressBody) Close() error {
	err := b.rc.Close()
	if b.done {
		b.w.stop()
	}
	return err
}

// NewTransport returns an *http.Transport with bounded dials, TLS
// handshakes and header waits, whose dialer sends names under .localhost
// to 127.0.0.1 (RFC 6761, as curl and browsers do), wrapped in Transport.
func NewTransport() *Transport {
	dialer := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = DialTimeout
	tr.ResponseHeaderTimeout = HeaderTimeout
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && isLocalhostName(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &Transport{Next: tr}
}

func isLocalhostName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// NewClient returns the client for ordinary requests: NewTransport,
// CheckRedirect, and RequestTimeout for each whole request.
func NewClient() *http.Client {
	return &http.Client{Transport: NewTransport(), CheckRedirect: CheckRedirect, Timeout: RequestTimeout}
}
