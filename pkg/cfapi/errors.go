package cfapi

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes the API returns that moltctl acts on. Sources are named in
// docs/cloudflare-api.md.
const (
	CodeInvalidToken         = 1000
	CodeAuthenticationFailed = 9106
	CodeUnauthorized         = 9109
	CodeAuthError            = 10000
	CodeBucketNotFound       = 10006
	CodeNotFound             = 10007 // Worker or workers.dev subdomain
	CodeSubdomainUnavailable = 10031
	CodeSubdomainAvailable   = 10032
	CodeR2NotEnabled         = 10042
	CodeBindingInUse         = 10053
	CodeBindingNotFound      = 10056
	CodeSubdomainRequired    = 10063
	CodeMigrationTag         = 10079
	CodeR2BindingBucket      = 10085
	CodeR2BindingNotEnabled  = 10136
	CodeVersionNotDeployed   = 10215
)

// APIError is a failed API call: a non-2xx status, success:false, or a
// body that is not the v4 envelope.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	Errors     []ErrorDetail
	// Body describes a response that was not a usable envelope.
	Body       string
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s /%s: ", e.Method, strings.TrimLeft(e.Path, "/"))
	switch {
	case len(e.Errors) > 0:
		for i, d := range e.Errors {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s [code: %d]", d.Message, d.Code)
		}
	case e.Body != "":
		fmt.Fprintf(&b, "HTTP %d, %s", e.StatusCode, e.Body)
	default:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	}
	return b.String()
}

// Code returns the first error code, or 0.
func (e *APIError) Code() int {
	if len(e.Errors) == 0 {
		return 0
	}
	return e.Errors[0].Code
}

// HasCode reports whether err is an APIError carrying code.
func HasCode(err error, code int) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// IsStatus reports whether err is an APIError with HTTP status.
func IsStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// TransportError is a request that got no HTTP response (refused, reset, timed out).
type TransportError struct {
	Method string
	Path   string
	Err    error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("%s /%s: %v", e.Method, strings.TrimLeft(e.Path, "/"), e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// TimeoutError is a call that got no usable answer within the retry
// policy's MaxElapsed, retries included.
type TimeoutError struct {
	Method   string
	Path     string
	Host     string
	After    time.Duration
	Attempts int
	// Err is the last attempt's error, nil when the deadline cut it.
	Err error
}

func (e *TimeoutError) Error() string {
	msg := fmt.Sprintf("%s /%s: no answer from %s within %s (%d attempt(s)", e.Method, strings.TrimLeft(e.Path, "/"), e.Host, e.After, e.Attempts)
	var te *TransportError
	if errors.As(e.Err, &te) {
		msg += fmt.Sprintf("; last: %v", te.Err)
	} else if e.Err != nil {
		msg += fmt.Sprintf("; last: %v", e.Err)
	}
	return msg + ")"
}

func (e *TimeoutError) Unwrap() error { return e.Err }

// Hint says where to look.
func (e *TimeoutError) Hint() string {
	return "check the network (a proxy or firewall that holds connections open), CLOUDFLARE_API_BASE_URL, and https://www.cloudflarestatus.com; then run the command again"
}
