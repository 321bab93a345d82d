package cfemu

import (
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
)

// AssetHash is the hash wrangler gives a static asset: the first 32 hex
// digits of BLAKE3(base64(content) + extension without the dot).
func AssetHash(filePath string, content []byte) string { return account.AssetHash(filePath, content) }

func (s *Server) registerAssets() {
	s.handle("POST", "/accounts/{account_id}/workers/scripts/{script}/assets-upload-session",
		s.guarded(PermWorkersScriptsWrite, s.assetsUploadSession))
	s.handle("POST", "/accounts/{account_id}/workers/assets/upload", s.assetsUpload)
}

// assetsUploadSession opens an upload session for a manifest and answers
// the upload JWT with the buckets of hashes to send (account.StartAssetUpload).
func (s *Server) assetsUploadSession(w http.ResponseWriter, r *http.Request, _ *Token) {
	var body struct {
		Manifest map[string]account.AssetEntry `json:"manifest"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	jwt, buckets, err := s.state.StartAssetUpload(s.opts.Now(), r.PathValue("script"), body.Manifest)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, map[string]any{"jwt": jwt, "buckets": buckets})
}

// assetsUpload takes one bucket of files, authenticated by the upload JWT
// (not an API token), as multipart parts named by hash with base64 bodies.
// Only the response completing the set carries the completion JWT.
func (s *Server) assetsUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	up, err := s.state.OpenAssetUpload(s.opts.Now(), bearer(r), r.PathValue("account_id"))
	if err != nil {
		writeFailure(w, err)
		return
	}
	if r.URL.Query().Get("base64") != "true" {
		fail(w, http.StatusBadRequest, 10021, "Only base64=true uploads are supported")
		return
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		fail(w, http.StatusBadRequest, 10021, "Expected a multipart/form-data body")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(w, http.StatusBadRequest, 10021, "malformed multipart body: %v", err)
			return
		}
		b, _ := io.ReadAll(p)
		if err := up.Add(p.FormName(), b); err != nil {
			writeFailure(w, err)
			return
		}
	}
	jwt, done := up.Finish()
	if !done {
		ok(w, http.StatusOK, map[string]any{})
		return
	}
	ok(w, http.StatusCreated, map[string]any{"jwt": jwt})
}
