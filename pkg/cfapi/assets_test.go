package cfapi

import (
	"context"
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An upload service that accepts every bucket but never answers the
// completion JWT must fail the upload, as wrangler does ("Failed to
// complete asset upload"), not hand the upload JWT on; and a file of an
// unknown type goes up as application/null, as wrangler sends it.
func TestUploadAssetsNeedsTheCompletionJWT(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<p>hi</p>", "blob.unknownext": "??"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, _, err := ReadAssets(dir)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	typeOf := map[string]string{}
	for p, e := range m {
		hashes = append(hashes, `"`+e.Hash+`"`)
		typeOf[e.Hash] = p
	}
	for _, complete := range []bool{false, true} {
		c := testClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if strings.HasSuffix(r.URL.Path, "/assets-upload-session") {
				w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"jwt":"upload-jwt","buckets":[[` + strings.Join(hashes, ",") + `]]}}`))
				return
			}
			_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			mr := multipart.NewReader(r.Body, params["boundary"])
			for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
				want := "text/html; charset=utf-8"
				if typeOf[p.FormName()] == "/blob.unknownext" {
					want = "application/null"
				}
				if got := p.Header.Get("Content-Type"); got != want {
					t.Errorf("%s sent as %q, want %q", typeOf[p.FormName()], got, want)
				}
			}
			result := `{}`
			if complete {
				result = `{"jwt":"completion-jwt"}`
			}
			w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":` + result + `}`))
		})
		jwt, _, err := c.UploadAssets(context.Background(), "w", dir)
		switch {
		case !complete && (!errors.Is(err, ErrAssetsIncomplete) || jwt != ""):
			t.Errorf("without a completion JWT: %q, %v; want ErrAssetsIncomplete", jwt, err)
		case complete && (err != nil || jwt != "completion-jwt"):
			t.Errorf("with a completion JWT: %q, %v", jwt, err)
		}
	}
}
