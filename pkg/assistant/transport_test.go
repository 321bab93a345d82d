package assistant

import (
	"context"
	"errors"
	"testing"

	"github.com/moltctl/moltctl/pkg/safehttp"
)

// TestPlainHTTPWorkerRefused: the service token never goes to a Worker URL
// in clear text unless the Worker is on this machine (the emulator).
func TestPlainHTTPWorkerRefused(t *testing.T) {
	t.Parallel()
	c := New("http://molt.me.workers.dev", ServiceToken{ClientID: "id", ClientSecret: "secret"}, nil)
	_, err := c.Status(context.Background())
	var ie *safehttp.InsecureError
	if !errors.As(err, &ie) {
		t.Errorf("err = %v, want an InsecureError", err)
	}
}
