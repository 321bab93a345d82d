package cfapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// Right after an upload the API may not know the new version yet (404,
// 100146); wrangler reads it again, and so must moltctl. Other 404s are
// not waited for.
func TestGetVersionWaitsForAJustUploadedVersion(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		code      int
		wantReads int32
		wantErr   bool
	}{
		{"lagging version", CodeVersionNotFound, 2, false},
		{"missing Worker", CodeNotFound, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var reads atomic.Int32
			c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if reads.Add(1) == 1 {
					w.WriteHeader(http.StatusNotFound)
					w.Write([]byte(`{"success":false,"errors":[{"code":` + strconv.Itoa(tt.code) + `,"message":"not found"}],"messages":[],"result":null}`))
					return
				}
				w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"id":"v1","number":2,"resources":{"bindings":[{"type":"durable_object_namespace","name":"Sandbox","namespace_id":"ns"}]}}}`))
			})
			v, err := c.GetVersion(context.Background(), "w", "v1")
			if (err != nil) != tt.wantErr || reads.Load() != tt.wantReads {
				t.Fatalf("GetVersion = %+v, %v after %d reads; want error %v after %d", v, err, reads.Load(), tt.wantErr, tt.wantReads)
			}
			if !tt.wantErr && (len(v.Bindings) != 1 || v.Bindings[0].NamespaceID != "ns") {
				t.Errorf("version = %+v", v)
			}
		})
	}
}

// wrangler pins the API date on the subdomain call and turns preview URLs
// off unless asked; moltctl never wants them (the Access app does not
// cover them).
func TestEnableScriptSubdomainSendsTheAPIDateAndNoPreviews(t *testing.T) {
	t.Parallel()
	c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		if r.Method != http.MethodPost || r.Header.Get("Cloudflare-Workers-Script-Api-Date") != "2025-08-01" ||
			body["enabled"] != true || body["previews_enabled"] != false {
			t.Errorf("%s %s date=%q body=%v", r.Method, r.URL.Path, r.Header.Get("Cloudflare-Workers-Script-Api-Date"), body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"enabled":true,"previews_enabled":false}}`))
	})
	if err := c.EnableScriptSubdomain(context.Background(), "w"); err != nil {
		t.Fatal(err)
	}
}
