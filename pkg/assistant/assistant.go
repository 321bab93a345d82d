// Package assistant is the HTTP client of a deployed moltworker Worker: its
// public /api/status and the admin API behind Cloudflare Access
// (/api/admin/...), authenticated with an Access service token.
//
// Requests never carry `Accept: text/html`: the Worker answers those with a
// loading page and HTTP 200 while the gateway starts, which would look like
// success. The service token is sent only to the Worker's own host, only
// over https unless the host is this machine, and redirects are never
// followed, so it cannot leak to another host.
package assistant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/safehttp"
)

// Header names of a Cloudflare Access service token.
const (
	HeaderClientID     = "CF-Access-Client-Id"
	HeaderClientSecret = "CF-Access-Client-Secret"
)

// DefaultPollInterval is how often WaitRunning asks /api/status.
const DefaultPollInterval = 2 * time.Second

// maxBody bounds what is read of any reply.
const maxBody = 4 << 20

// ServiceToken is the Cloudflare Access service token moltctl authenticates with.
type ServiceToken struct {
	ClientID     string
	ClientSecret string
}

// String never shows the secret.
func (t ServiceToken) String() string {
	if t.ClientID == "" {
		return "ServiceToken(none)"
	}
	return "ServiceToken(" + t.ClientID + ", secret redacted)"
}

// Client talks to one deployed Worker.
type Client struct {
	base *url.URL
	auth ServiceToken
	hc   *http.Client
	// PollInterval is the pause between probes in WaitRunning.
	PollInterval time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// New returns a client for the Worker at baseURL (for example
// https://moltbot-sandbox.me.workers.dev). httpClient may be nil; its
// redirect policy is replaced so that redirects are reported, not followed.
func New(baseURL string, auth ServiceToken, httpClient *http.Client) *Client {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "https", Host: "invalid.invalid"}
	}
	hc := &http.Client{}
	if httpClient != nil {
		cp := *httpClient
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	// Plain http only to this machine (the emulator's *.localhost URLs):
	// the service token must not cross a network in clear text.
	if _, ok := hc.Transport.(*safehttp.Transport); !ok {
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		hc.Transport = &safehttp.Transport{Next: next}
	}
	if hc.Timeout == 0 {
		hc.Timeout = safehttp.RequestTimeout
	}
	return &Client{base: u, auth: auth, hc: hc, PollInterval: DefaultPollInterval, UserAgent: "moltctl"}
}

// URL returns the Worker's base URL.
func (c *Client) URL() string { return c.base.String() }

// HasToken reports whether a service token is configured.
func (c *Client) HasToken() bool { return c.auth.ClientID != "" && c.auth.ClientSecret != "" }

// GatewayStatus is the reply of GET /api/status.
type GatewayStatus struct {
	OK bool `json:"ok"`
	// Status is running, not_running, not_responding or error.
	Status    string `json:"status"`
	ProcessID string `json:"processId,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Gateway status values.
const (
	StatusRunning       = "running"
	StatusNotRunning    = "not_running"
	StatusNotResponding = "not_responding"
	StatusError         = "error"
)

// Status asks the Worker whether the gateway is running. It does not start
// the gateway.
func (c *Client) Status(ctx context.Context) (*GatewayStatus, error) {
	var st GatewayStatus
	if err := c.call(ctx, http.MethodGet, "/api/status", &st); err != nil {
		return nil, fmt.Errorf("gateway status: %w", err)
	}
	return &st, nil
}

// RestartResult is the reply of POST /api/admin/gateway/restart.
type RestartResult struct {
	Success           bool   `json:"success"`
	Message           string `json:"message,omitempty"`
	PreviousProcessID string `json:"previousProcessId,omitempty"`
}

// Restart kills the gateway process and starts a new one in the
// background, so changed secrets take effect. Follow it with WaitRunning.
func (c *Client) Restart(ctx context.Context) (*RestartResult, error) {
	var r RestartResult
	if err := c.call(ctx, http.MethodPost, "/api/admin/gateway/restart", &r); err != nil {
		return nil, fmt.Errorf("restart gateway: %w", err)
	}
	return &r, nil
}

// WaitTimeoutError is returned by WaitRunning when the gateway did not
// come up in time.
type WaitTimeoutError struct {
	Timeout time.Duration
	Last    *GatewayStatus
	LastErr error
}

func (e *WaitTimeoutError) Error() string {
	msg := fmt.Sprintf("the gateway did not start within %s", e.Timeout)
	switch {
	case e.Last != nil && e.Last.Error != "":
		msg += fmt.Sprintf(" (last status %q: %s)", e.Last.Status, e.Last.Error)
	case e.Last != nil:
		msg += fmt.Sprintf(" (last status %q)", e.Last.Status)
	case e.LastErr != nil:
		msg += fmt.Sprintf(" (last error: %v)", e.LastErr)
	}
	return msg
}

// Unwrap returns the last error seen.
func (e *WaitTimeoutError) Unwrap() error { return e.LastErr }

// Hint says what to do.
func (e *WaitTimeoutError) Hint() string {
	var texts []string
	if e.Last != nil {
		texts = append(texts, e.Last.Error)
	}
	if e.LastErr != nil {
		texts = append(texts, e.LastErr.Error())
	}
	if h := diagnosedHint(texts...); h != "" {
		return h
	}
	return "a cold start takes 1-2 minutes; look at `moltctl logs`, then try `moltctl status` or `moltctl restart`"
}

// WaitRunning polls /api/status until the gateway is running, ctx ends or
// timeout passes. /api/status does not start the gateway, so when it reports
// not_running, WaitRunning also sends one authenticated request to the
// Worker's catch-all route, which starts the gateway and blocks until it
// listens. onTick (may be nil) is called after each probe that did not find
// the gateway running, with the status (nil when the probe failed) and the
// time waited so far. Errors that waiting cannot cure (Access, missing
// secrets, JWT mismatch, no Worker) are returned at once.
func (c *Client) WaitRunning(ctx context.Context, timeout time.Duration, onTick func(st *GatewayStatus, elapsed time.Duration)) (*GatewayStatus, error) {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := c.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	var (
		last    *GatewayStatus
		lastErr error
		kicking bool
		kickRes = make(chan error, 1)
	)
	for {
		st, err := c.Status(wctx)
		switch {
		case err == nil && st.OK:
			return st, nil
		case err != nil && Fatal(err):
			return nil, err
		case err != nil:
			if wctx.Err() == nil {
				lastErr = err
			}
		default:
			last, lastErr = st, nil
			if st.Status == StatusNotRunning && !kicking && c.HasToken() {
				kicking = true
				go func() { kickRes <- c.kick(wctx) }()
			}
		}
		if wctx.Err() == nil && onTick != nil {
			onTick(st, time.Since(start))
		}
		t := time.NewTimer(interval)
		select {
		case <-wctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("wait for the gateway: %w", ctx.Err())
			}
			return last, &WaitTimeoutError{Timeout: timeout, Last: last, LastErr: lastErr}
		case err := <-kickRes:
			t.Stop()
			kicking = false
			if err != nil && Fatal(err) {
				return nil, err
			}
			if err != nil && wctx.Err() == nil {
				lastErr = err
			}
		case <-t.C:
		}
	}
}

// kick starts the gateway through the Worker's catch-all route, which
// waits for it (up to 180 s on the real service).
func (c *Client) kick(ctx context.Context) error {
	res, err := c.send(ctx, http.MethodGet, "/")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode < 300 {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
		return nil
	}
	return c.replyError(res, readBody(res))
}

// Fatal reports whether err is one that retrying or waiting cannot cure:
// Access refused the token, secrets are missing, the Worker rejected the
// JWT, or no Worker is deployed.
func Fatal(err error) bool {
	var (
		ae *AccessError
		ce *ConfigError
		ue *UnauthorizedError
		ne *NotDeployedError
	)
	return errors.As(err, &ae) || errors.As(err, &ce) || errors.As(err, &ue) || errors.As(err, &ne)
}

// call sends a request without a body and decodes the JSON reply into out.
func (c *Client) call(ctx context.Context, method, path string, out any) error {
	res, err := c.send(ctx, method, path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body := readBody(res)
	if res.StatusCode >= 300 {
		return c.replyError(res, body)
	}
	if !isJSON(res) {
		return fmt.Errorf("%s %s: expected JSON, got %s (HTTP %d)", method, path, contentType(res), res.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode reply: %w", method, path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, method, path string) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimRight(c.base.Path, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	// The request goes to c.base's host only and redirects are never
	// followed, so the secret reaches nothing but the Worker's host.
	if c.auth.ClientID != "" {
		req.Header.Set(HeaderClientID, c.auth.ClientID)
		req.Header.Set(HeaderClientSecret, c.auth.ClientSecret)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s%s: %w", method, c.base.Host, path, err)
	}
	return res, nil
}

func readBody(res *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxBody))
	return b
}

func contentType(res *http.Response) string {
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if mt == "" {
		return "no content type"
	}
	return mt
}

func isJSON(res *http.Response) bool {
	mt := contentType(res)
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// errorReply is the union of the Worker's error bodies.
type errorReply struct {
	Error   string   `json:"error"`
	Message string   `json:"message"`
	Details string   `json:"details"`
	Hint    string   `json:"hint"`
	Missing []string `json:"missing"`
}

func (c *Client) replyError(res *http.Response, body []byte) error {
	status := res.StatusCode
	if status >= 300 && status < 400 {
		return &AccessError{Status: status, Location: res.Header.Get("Location"), NoToken: !c.HasToken()}
	}
	var er errorReply
	jsonBody := isJSON(res) && json.Unmarshal(body, &er) == nil
	switch {
	case !jsonBody && (status == http.StatusUnauthorized || status == http.StatusForbidden):
		// Access's own pages are HTML; the Worker answers JSON.
		return &AccessError{Status: status, NoToken: !c.HasToken()}
	case !jsonBody && status == http.StatusNotFound:
		return &NotDeployedError{URL: c.URL(), Status: status}
	case !jsonBody:
		return &GatewayError{Status: status, Message: snippet(body)}
	case status == http.StatusServiceUnavailable && er.Error == "Configuration error":
		return &ConfigError{Missing: er.Missing, Message: er.Message}
	case er.Error == "Cloudflare Access not configured":
		return &ConfigError{Missing: []string{"CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"}, Message: er.Error}
	case status == http.StatusUnauthorized:
		return &UnauthorizedError{Details: er.Details, MissingJWT: er.Details == "" && strings.Contains(er.Hint, "Missing")}
	}
	msg := er.Error
	if msg == "" {
		msg = er.Message
	}
	return &GatewayError{Status: status, Message: msg, Details: er.Details, Fix: er.Hint}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "<") {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// TokenMask stands for the gateway token in a URL printed without
// --show-token. It hides all of the token, not a prefix: a printed URL
// ends up in scrollback and pasted logs.
const TokenMask = "********"

// ControlUIURL is the address of the Control UI at base (the Worker's URL)
// with the gateway token, masked unless show.
func ControlUIURL(base, token string, show bool) string {
	shown := TokenMask
	if show {
		shown = url.QueryEscape(token)
	}
	return strings.TrimRight(base, "/") + "/?token=" + shown
}
