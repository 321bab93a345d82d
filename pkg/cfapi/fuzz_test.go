package cfapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzDecodeEnvelope feeds arbitrary response bodies and statuses to the
// envelope decoder: it must return an envelope or an error naming the
// request, never panic.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add(200, []byte(`{"success":true,"errors":[],"messages":[],"result":{"id":"x"}}`))
	f.Add(403, []byte(`{"success":false,"errors":[{"code":10042,"message":"Please enable R2 through the Cloudflare Dashboard."}],"result":null}`))
	f.Add(200, []byte(`{"success":false}`))
	f.Add(502, []byte(`<html>502 Bad Gateway</html>`))
	f.Add(200, []byte(`{"success":true,"result":`))
	f.Add(200, []byte(``))
	f.Add(429, []byte(`{"success":false,"errors":[{"code":"971"}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		req := Request{Method: "GET", Path: "accounts/a/workers/scripts"}
		res := &http.Response{StatusCode: status, Header: http.Header{}}
		env, err := decodeEnvelope(req, res, body)
		if err == nil {
			if env == nil || !env.Success {
				t.Fatalf("nil error without a successful envelope")
			}
			return
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("error is %T, want *APIError", err)
		}
		if !strings.Contains(err.Error(), "GET /accounts/a/workers/scripts") {
			t.Fatalf("error does not name the request: %v", err)
		}
	})
}
