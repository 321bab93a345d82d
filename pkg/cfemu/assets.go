package cfemu

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/zeebo/blake3"
)

// assetSession is an open static-assets upload session.
type assetSession struct {
	ID       string
	Script   string
	Manifest map[string]assetEntry // "/path" → entry
	// Needed are the hashes the account lacked when the session opened.
	Needed   map[string]bool
	Expires  time.Time
	Complete bool
}

type assetEntry struct {
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// assetBucketSize is how many hashes one upload bucket holds.
const assetBucketSize = 50

var assetHashRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// AssetHash is the hash wrangler gives a static asset: the first 32 hex
// digits of BLAKE3(base64(content) + extension without the dot).
func AssetHash(filePath string, content []byte) string {
	ext := strings.TrimPrefix(path.Ext(filePath), ".")
	sum := blake3.Sum256([]byte(base64.StdEncoding.EncodeToString(content) + ext))
	return hex.EncodeToString(sum[:])[:32]
}

func (s *Server) registerAssets() {
	s.handle("POST", "/accounts/{account_id}/workers/scripts/{script}/assets-upload-session",
		s.guarded(PermWorkersScriptsWrite, s.assetsUploadSession))
	s.handle("POST", "/accounts/{account_id}/workers/assets/upload", s.assetsUpload)
}

// assetJWT signs claims for a session ("upload" or "complete").
func (s *Server) assetJWT(sess *assetSession, kind string) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sid": sess.ID, "kind": kind, "accountId": s.state.Account.ID, "scriptName": sess.Script,
		"exp": sess.Expires.Unix(), "iat": s.opts.Now().Unix(),
	})
	body := head + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(s.opts.Token))
	mac.Write([]byte(body))
	return body + "." + enc.EncodeToString(mac.Sum(nil))
}

// parseAssetJWT checks a session JWT's signature, kind and expiry.
func (s *Server) parseAssetJWT(tok, kind string) *assetSession {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	mac := hmac.New(sha256.New, []byte(s.opts.Token))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c struct {
		SID  string `json:"sid"`
		Kind string `json:"kind"`
	}
	if json.Unmarshal(raw, &c) != nil || c.Kind != kind {
		return nil
	}
	sess := s.assetSessions[c.SID]
	if sess == nil || !s.opts.Now().Before(sess.Expires) {
		return nil
	}
	return sess
}

// assetsUploadSession takes the manifest and answers the hashes the account
// does not hold yet, in buckets, with the JWT to upload them (or, when
// nothing is missing, the completion JWT itself).
func (s *Server) assetsUploadSession(w http.ResponseWriter, r *http.Request, _ *Token) {
	var body struct {
		Manifest map[string]assetEntry `json:"manifest"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.Manifest == nil {
		fail(w, http.StatusBadRequest, 10021, "manifest is required")
		return
	}
	sess := &assetSession{ID: newID(), Script: r.PathValue("script"), Manifest: body.Manifest,
		Needed: map[string]bool{}, Expires: s.opts.Now().Add(time.Hour)}
	for p, e := range body.Manifest {
		if !strings.HasPrefix(p, "/") || !assetHashRE.MatchString(e.Hash) {
			fail(w, http.StatusBadRequest, 10021, "Invalid manifest entry %q: paths start with / and hashes are 32 lower-case hex digits", p)
			return
		}
		if e.Size > 25<<20 {
			fail(w, http.StatusBadRequest, 10021, "Asset %q is over the 25 MiB limit", p)
			return
		}
		if !s.state.AssetSet[e.Hash] {
			sess.Needed[e.Hash] = true
		}
	}
	for id, old := range s.assetSessions {
		if !s.opts.Now().Before(old.Expires) {
			delete(s.assetSessions, id)
		}
	}
	s.assetSessions[sess.ID] = sess
	needed := make([]string, 0, len(sess.Needed))
	for h := range sess.Needed {
		needed = append(needed, h)
	}
	sort.Strings(needed)
	buckets := [][]string{}
	for len(needed) > 0 {
		n := min(assetBucketSize, len(needed))
		buckets = append(buckets, needed[:n])
		needed = needed[n:]
	}
	jwt := s.assetJWT(sess, "upload")
	if len(buckets) == 0 {
		sess.Complete = true
		jwt = s.assetJWT(sess, "complete")
	}
	ok(w, http.StatusOK, map[string]any{"jwt": jwt, "buckets": buckets})
}

// assetsUpload stores one bucket of base64 bodies, authenticated by the
// session's upload JWT (not an API token). Each body must hash to its
// part name as wrangler computes it. The response carries the completion
// JWT once every needed hash has arrived.
func (s *Server) assetsUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.parseAssetJWT(bearer(r), "upload")
	if sess == nil || r.PathValue("account_id") != s.state.Account.ID {
		fail(w, http.StatusUnauthorized, 8000013, "Unauthorized: the upload JWT is missing, invalid or expired")
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
	exts := map[string][]string{}
	for p, e := range sess.Manifest {
		exts[e.Hash] = append(exts[e.Hash], p)
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	got := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(w, http.StatusBadRequest, 10021, "malformed multipart body: %v", err)
			return
		}
		hash := p.FormName()
		b, _ := io.ReadAll(p)
		paths := exts[hash]
		if len(paths) == 0 {
			fail(w, http.StatusBadRequest, 10021, "Hash %s is not in this upload session's manifest", hash)
			return
		}
		content, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			fail(w, http.StatusBadRequest, 10021, "Asset %s is not valid base64", hash)
			return
		}
		if AssetHash(paths[0], content) != hash {
			fail(w, http.StatusBadRequest, 10021, "Asset %s: the content does not match its hash", hash)
			return
		}
		got[hash] = true
	}
	for h := range got {
		s.state.AssetSet[h] = true
	}
	for h := range sess.Needed {
		if !s.state.AssetSet[h] {
			ok(w, http.StatusOK, map[string]any{})
			return
		}
	}
	sess.Complete = true
	ok(w, http.StatusCreated, map[string]any{"jwt": s.assetJWT(sess, "complete")})
}

// completedAssets resolves a completion JWT from an upload's
// metadata.assets.jwt to its manifest (path → hash).
func (s *Server) completedAssets(jwt string) (map[string]string, error) {
	sess := s.parseAssetJWT(jwt, "complete")
	if sess == nil || !sess.Complete {
		return nil, failf(http.StatusBadRequest, 10021, "The assets completion token is invalid or has expired. Upload the assets again.")
	}
	out := map[string]string{}
	for p, e := range sess.Manifest {
		if !s.state.AssetSet[e.Hash] {
			return nil, failf(http.StatusBadRequest, 10021, "Asset %s was never uploaded", p)
		}
		out[p] = e.Hash
	}
	return out, nil
}
