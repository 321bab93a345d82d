package cfapi

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy bounds how transient failures are retried.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
	// MaxElapsed gives up after this long in total.
	MaxElapsed time.Duration
}

// DefaultRetry suits an interactive deploy: a few quick retries, then a clear error.
var DefaultRetry = RetryPolicy{MaxAttempts: 6, BaseDelay: 200 * time.Millisecond, MaxDelay: 10 * time.Second, MaxElapsed: 2 * time.Minute}

// NoRetry sends each request once.
var NoRetry = RetryPolicy{MaxAttempts: 1}

func withRetry(ctx context.Context, p RetryPolicy, req Request, call func() (*Envelope, error)) (*Envelope, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		env, err := call()
		if err == nil || attempt >= p.MaxAttempts || !retryable(req, err) {
			return env, err
		}
		delay := backoffDelay(p, attempt)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			delay = apiErr.RetryAfter
		}
		if p.MaxElapsed > 0 && time.Since(start)+delay > p.MaxElapsed {
			return env, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(context.Cause(ctx), errOverall) {
				return env, err // the caller reports the deadline with the last error
			}
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// retryable decides whether repeating req cannot do harm. A 429 was never
// processed, so any request may be repeated. Anything else (5xx, a dropped
// connection) may have been applied, so only idempotent requests are.
func retryable(req Request, err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if apiErr.StatusCode == http.StatusTooManyRequests {
			return true
		}
		if apiErr.StatusCode < 500 {
			return false
		}
	}
	return idempotent(req)
}

func idempotent(req Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return req.Idempotent
}

func backoffDelay(p RetryPolicy, attempt int) time.Duration {
	d := p.BaseDelay << (attempt - 1)
	if d <= 0 || d > p.MaxDelay {
		d = p.MaxDelay
	}
	// Full jitter keeps parallel clients from retrying in lockstep.
	return time.Duration(rand.Int64N(int64(d)/2+1)) + d/2
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
