// Package cfapi is moltctl's Cloudflare API client: plain net/http requests
// for the endpoints moltctl uses (cloudflare-go has no Worker multipart
// upload and no Containers API, and its root client links every one of its
// ~100 service packages), the v4 envelope decoded into typed errors, retries
// that never repeat an unsafe write, and redacted traces.
package cfapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/safehttp"
)

// DefaultBaseURL is Cloudflare's API, used when CLOUDFLARE_API_BASE_URL is unset.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Options configure a Client.
type Options struct {
	// BaseURL includes the /client/v4 prefix, as CLOUDFLARE_API_BASE_URL does for wrangler.
	BaseURL   string
	Token     string
	AccountID string
	// HTTPClient carries requests; nil means safehttp.NewClient(). Its
	// Timeout and CheckRedirect are replaced: RequestTimeout bounds each
	// attempt, and redirects follow safehttp's rules.
	HTTPClient *http.Client
	// RequestTimeout bounds one attempt of a request; zero means
	// DefaultRequestTimeout. Bodies over a MiB get more (see attemptTimeout).
	// Retry.MaxElapsed bounds the whole call, retries included.
	RequestTimeout time.Duration
	// Trace, when set, receives one redacted line per request (--verbose).
	Trace io.Writer
	// Retry bounds retries of transient failures; zero value means DefaultRetry.
	Retry RetryPolicy
	// UserAgent identifies moltctl and its version.
	UserAgent string
}

// DefaultRequestTimeout bounds one attempt of an API request.
const DefaultRequestTimeout = safehttp.RequestTimeout

// Client talks to the Cloudflare API for one account.
type Client struct {
	baseURL   string
	accountID string
	retry     RetryPolicy
	http      *http.Client
	token     string
	userAgent string
	timeout   time.Duration
	// insecure is set when the base URL would send the token in clear
	// text; every call returns it.
	insecure error
}

// New returns a Client. The token is attached only to requests for
// BaseURL, which must be https unless it names this machine (see
// safehttp.CheckURL); otherwise every call fails with that error.
func New(o Options) *Client {
	base := strings.TrimRight(o.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = safehttp.NewClient()
	}
	copied := *hc
	hc = &copied
	hc.Timeout = 0 // attemptTimeout bounds each attempt
	hc.CheckRedirect = safehttp.CheckRedirect
	if _, guarded := hc.Transport.(*safehttp.Transport); !guarded {
		hc.Transport = &safehttp.Transport{Next: transportOf(hc)}
	}
	if o.Trace != nil {
		hc.Transport = &traceTransport{next: transportOf(hc), w: o.Trace}
	}
	retry := o.Retry
	if retry.MaxAttempts == 0 {
		retry = DefaultRetry
	}
	ua := o.UserAgent
	if ua == "" {
		ua = "moltctl"
	}
	timeout := o.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return &Client{baseURL: base, accountID: o.AccountID, retry: retry, http: hc, token: o.Token, userAgent: ua,
		timeout: timeout, insecure: safehttp.CheckURL("the API base URL", base)}
}

// attemptTimeout bounds one attempt: the request timeout, plus ten seconds
// for every MiB of body beyond the first (a Worker bundle on a slow uplink).
func (c *Client) attemptTimeout(bodyLen int) time.Duration {
	const mib = 1 << 20
	if bodyLen <= mib {
		return c.timeout
	}
	return c.timeout + time.Duration((bodyLen-mib+mib-1)/mib)*10*time.Second
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}

// BaseURL is the API base, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// AccountID is the account this client acts on ("" until resolved).
func (c *Client) AccountID() string { return c.accountID }

// SetAccountID sets the account after it has been resolved.
func (c *Client) SetAccountID(id string) { c.accountID = id }

// HasToken reports whether a token was configured.
func (c *Client) HasToken() bool { return c.token != "" }

// AccountPath returns "accounts/<id>/<rest>".
func (c *Client) AccountPath(format string, args ...any) string {
	return "accounts/" + c.accountID + "/" + strings.TrimLeft(fmt.Sprintf(format, args...), "/")
}

// Request describes one API call.
type Request struct {
	Method string
	// Path is relative to the base URL, e.g. "accounts/abc/r2/buckets".
	Path  string
	Query url.Values
	// JSON is marshalled as the body when set.
	JSON any
	// Body and ContentType send a raw body (multipart, merge-patch).
	Body        []byte
	ContentType string
	Header      http.Header
	// Idempotent marks a POST as safe to repeat. GET, HEAD, PUT and DELETE always are.
	Idempotent bool
	// Raw, when set, receives a successful response's body as it is, for
	// the few endpoints that answer bytes rather than an envelope (R2 objects).
	Raw *[]byte
}

// Envelope is Cloudflare's v4 response wrapper.
type Envelope struct {
	Success    bool            `json:"success"`
	Errors     []ErrorDetail   `json:"errors"`
	Messages   json.RawMessage `json:"messages,omitempty"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *ResultInfo     `json:"result_info,omitempty"`
}

// ResultInfo is the pagination block.
type ResultInfo struct {
	Page       int    `json:"page,omitempty"`
	PerPage    int    `json:"per_page,omitempty"`
	Count      int    `json:"count,omitempty"`
	TotalCount int    `json:"total_count,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
}

// ErrorDetail is one entry of the envelope's errors.
type ErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Do sends req and decodes the envelope's result into out (which may be nil).
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	env, err := c.DoEnvelope(ctx, req)
	if err != nil {
		return err
	}
	if out == nil || len(env.Result) == 0 || string(env.Result) == "null" {
		return nil
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		return fmt.Errorf("%s %s: unexpected result: %w", req.Method, redactPath(req.Path), err)
	}
	return nil
}

// DoEnvelope sends req, retrying what is safe to retry, and returns the
// whole envelope. Each attempt is bounded by the request timeout and the
// whole call, retries included, by the retry policy's MaxElapsed (or one
// attempt's bound, when a large body makes that longer).
func (c *Client) DoEnvelope(ctx context.Context, req Request) (*Envelope, error) {
	if c.insecure != nil {
		return nil, c.insecure
	}
	var body []byte
	contentType := req.ContentType
	switch {
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", req.Method, redactPath(req.Path), err)
		}
		body = b
		if contentType == "" {
			contentType = "application/json"
		}
	case req.Body != nil:
		body = req.Body
	}
	parent := ctx
	// A large upload's one attempt may need longer than the retry budget.
	overall := c.retry.MaxElapsed
	if overall > 0 {
		overall = max(overall, c.attemptTimeout(len(body)))
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, overall, errOverall)
		defer cancel()
	}
	attempts := 0
	env, err := withRetry(ctx, c.retry, req, func() (*Envelope, error) {
		attempts++
		return c.once(ctx, req, body, contentType)
	})
	if err != nil && parent.Err() == nil && errors.Is(context.Cause(ctx), errOverall) {
		if errors.Is(err, context.DeadlineExceeded) {
			// The deadline cut the last attempt: that is this error, not
			// the caller's deadline (which callers treat as their own).
			err = nil
		}
		return nil, &TimeoutError{Method: req.Method, Path: redactPath(req.Path), Host: hostOf(c.baseURL),
			After: overall, Attempts: attempts, Err: err}
	}
	return env, err
}

// errOverall is the cause of the context that bounds a whole call.
var errOverall = errors.New("overall deadline")

func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host
	}
	return base
}

func (c *Client) once(ctx context.Context, req Request, body []byte, contentType string) (*Envelope, error) {
	parent := ctx
	timeout := c.attemptTimeout(len(body))
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errAttempt)
	defer cancel()
	u := c.baseURL + "/" + strings.TrimLeft(req.Path, "/")
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, redactPath(req.Path), err)
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	// A request that carries its own credentials (the assets upload JWT)
	// keeps them: the account token must not replace them.
	if c.token != "" && hreq.Header.Get("Authorization") == "" {
		hreq.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(hreq)
	if err != nil {
		return nil, c.attemptError(parent, ctx, req, timeout, err)
	}
	defer res.Body.Close()
	raw, readErr := io.ReadAll(res.Body)
	if readErr != nil {
		return nil, c.attemptError(parent, ctx, req, timeout, readErr)
	}
	if req.Raw != nil && res.StatusCode < 300 {
		*req.Raw = raw
		return &Envelope{Success: true}, nil
	}
	return decodeEnvelope(req, res, raw)
}

// errAttempt is the cause of the context that bounds one attempt.
var errAttempt = errors.New("attempt timed out")

// attemptError says why an attempt got no (whole) response: the caller's
// context ended (returned as is, so Ctrl-C stays context.Canceled), or a
// *TransportError, retryable for idempotent requests, which names the
// attempt's timeout when that was the cause.
func (c *Client) attemptError(parent, ctx context.Context, req Request, timeout time.Duration, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(context.Cause(ctx), errAttempt) {
		err = fmt.Errorf("no answer within %s", timeout)
	}
	return &TransportError{Method: req.Method, Path: redactPath(req.Path), Err: err}
}

func decodeEnvelope(req Request, res *http.Response, raw []byte) (*Envelope, error) {
	var env Envelope
	jsonErr := json.Unmarshal(raw, &env)
	if res.StatusCode >= 300 || jsonErr != nil || !env.Success {
		apiErr := &APIError{
			Method:     req.Method,
			Path:       redactPath(req.Path),
			StatusCode: res.StatusCode,
			Errors:     env.Errors,
			RetryAfter: parseRetryAfter(res.Header.Get("Retry-After")),
		}
		if jsonErr != nil {
			apiErr.Errors = nil
			apiErr.Body = snippet(raw)
		}
		if res.StatusCode < 300 && jsonErr == nil && len(env.Errors) == 0 {
			apiErr.Body = "success: false"
		}
		return &env, apiErr
	}
	return &env, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "empty response"
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return "non-JSON response: " + strings.ReplaceAll(s, "\n", " ")
}

// redactPath keeps request paths in errors free of anything secret-looking:
// paths never hold secret values, but query strings can.
func redactPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// NotFound reports whether err is a 404 from the API.
func NotFound(err error) bool { return IsStatus(err, http.StatusNotFound) }
