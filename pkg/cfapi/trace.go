package cfapi

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// sensitiveHeaders never appear in traces with their values.
var sensitiveHeaders = []string{"Authorization", "Cf-Access-Client-Secret", "X-Auth-Key", "Cookie", "Set-Cookie", "Cf-Access-Jwt-Assertion"}

// traceTransport writes one line per request: method, URL without query,
// status, duration and body size. Bodies are never written: they carry secrets.
type traceTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	w    io.Writer
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := t.next.RoundTrip(req)
	u := *req.URL
	u.RawQuery, u.User = "", nil
	t.mu.Lock()
	defer t.mu.Unlock()
	status := "error"
	if err != nil {
		status = "error: " + err.Error()
	} else {
		status = res.Status
	}
	fmt.Fprintf(t.w, "* %s %s -> %s (%s, %d bytes sent)%s\n", req.Method, u.String(), status,
		time.Since(start).Round(time.Millisecond), max(req.ContentLength, 0), redactedHeaders(req.Header))
	return res, err
}

func redactedHeaders(h http.Header) string {
	var parts []string
	for _, name := range sensitiveHeaders {
		if h.Get(name) != "" {
			parts = append(parts, name+": [redacted]")
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, ", ") + "]"
}
