package cfapi

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
)

func TestSecretsAgainstEmulator(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	srv := cfemu.New(cfemu.Options{Log: &log, ColdStart: 50 * time.Millisecond}).Start()
	defer srv.Close()
	srv.Update(func(st *cfemu.State) {
		st.Scripts["molt"] = &cfemu.Script{Name: "molt", ID: "tag", Secrets: map[string]string{"OLD": "old-value"}}
	})
	var trace bytes.Buffer
	c := New(Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID(), Trace: &trace})
	ctx := context.Background()

	const v1, v2 = "SENTINEL-bulk-one-7f3a", "SENTINEL-put-two-9c1e"
	if err := c.BulkSecrets(ctx, "molt", map[string]string{"A_SECRET": v1, "B_SECRET": "x"}, []string{"OLD"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutSecret(ctx, "molt", "C_SECRET", v2); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteSecret(ctx, "molt", "B_SECRET"); err != nil {
		t.Fatal(err)
	}
	got, err := c.ListSecrets(ctx, "molt")
	if err != nil {
		t.Fatal(err)
	}
	want := []SecretInfo{{"A_SECRET", "secret_text"}, {"C_SECRET", "secret_text"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("list = %+v, want %+v", got, want)
	}
	srv.View(func(st *cfemu.State) {
		if s := st.Scripts["molt"].Secrets; s["A_SECRET"] != v1 || s["C_SECRET"] != v2 {
			t.Fatal("values not stored")
		}
	})
	for _, out := range []string{trace.String(), log.String()} {
		if strings.Contains(out, "SENTINEL") {
			t.Fatalf("value in trace or request log:\n%s", out)
		}
	}
	if !strings.Contains(trace.String(), "PATCH") {
		t.Fatalf("no bulk request traced:\n%s", trace.String())
	}

	// A Worker that does not exist yet is a 404.
	_, err = c.ListSecrets(ctx, "nope")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !NotFound(err) {
		t.Fatalf("missing worker: %v", err)
	}
	if err := c.BulkSecrets(ctx, "molt", nil, nil); err != nil {
		t.Fatal("empty bulk should be a no-op")
	}
}
