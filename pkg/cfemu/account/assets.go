package account

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	Manifest map[string]AssetEntry // "/path" → entry
	// Needed are the hashes the account lacked when the session opened.
	Needed   map[string]bool
	Expires  time.Time
	Complete bool
}

// AssetEntry is one file of an assets manifest.
type AssetEntry struct {
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

// assetJWT signs claims for a session ("upload" or "complete").
func (st *State) assetJWT(now time.Time, sess *assetSession, kind string) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sid": sess.ID, "kind": kind, "accountId": st.Account.ID, "scriptName": sess.Script,
		"exp": sess.Expires.Unix(), "iat": now.Unix(),
	})
	body := head + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, st.unsavedPart().assetKey)
	mac.Write([]byte(body))
	return body + "." + enc.EncodeToString(mac.Sum(nil))
}

// parseAssetJWT returns the live session a token of kind names, or nil.
func (st *State) parseAssetJWT(now time.Time, tok, kind string) *assetSession {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	mac := hmac.New(sha256.New, st.unsavedPart().assetKey)
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
	sess := st.unsavedPart().assetSessions[c.SID]
	if sess == nil || !now.Before(sess.Expires) {
		return nil
	}
	return sess
}

// StartAssetUpload opens an assets upload session for script's manifest
// ("/path" → entry). It answers the upload JWT and the buckets of hashes the
// account does not hold yet; with no buckets the JWT already completes the
// upload.
func (st *State) StartAssetUpload(now time.Time, script string, manifest map[string]AssetEntry) (jwt string, buckets [][]string, err error) {
	if manifest == nil {
		return "", nil, invalid("manifest is required")
	}
	sess := &assetSession{ID: NewID(), Script: script, Manifest: manifest, Needed: map[string]bool{}, Expires: now.Add(time.Hour)}
	for p, e := range manifest {
		if !strings.HasPrefix(p, "/") || !assetHashRE.MatchString(e.Hash) {
			return "", nil, invalid("Invalid manifest entry %q: paths start with / and hashes are 32 lower-case hex digits", p)
		}
		if e.Size > 25<<20 {
			return "", nil, invalid("Asset %q is over the 25 MiB limit", p)
		}
		if !st.AssetSet[e.Hash] {
			sess.Needed[e.Hash] = true
		}
	}
	u := st.unsavedPart()
	for id, old := range u.assetSessions {
		if !now.Before(old.Expires) {
			delete(u.assetSessions, id)
		}
	}
	if u.assetSessions == nil {
		u.assetSessions = map[string]*assetSession{}
	}
	u.assetSessions[sess.ID] = sess
	needed := make([]string, 0, len(sess.Needed))
	for h := range sess.Needed {
		needed = append(needed, h)
	}
	sort.Strings(needed)
	buckets = [][]string{}
	for len(needed) > 0 {
		n := min(assetBucketSize, len(needed))
		buckets = append(buckets, needed[:n])
		needed = needed[n:]
	}
	jwt = st.assetJWT(now, sess, "upload")
	if len(buckets) == 0 {
		sess.Complete = true
		jwt = st.assetJWT(now, sess, "complete")
	}
	return jwt, buckets, nil
}

// AssetUpload is one POST workers/assets/upload: files are added one by one,
// then Finish stores them.
type AssetUpload struct {
	st    *State
	now   time.Time
	sess  *assetSession
	paths map[string][]string // hash → manifest paths
	got   map[string]bool
}

// OpenAssetUpload checks an upload JWT (bearer) for accountID: 401 8000013
// unless it names a live session of this account.
func (st *State) OpenAssetUpload(now time.Time, jwt, accountID string) (*AssetUpload, error) {
	sess := st.parseAssetJWT(now, jwt, "upload")
	if sess == nil || accountID != st.Account.ID {
		return nil, errorf(http.StatusUnauthorized, 8000013, "Unauthorized: the upload JWT is missing, invalid or expired")
	}
	paths := map[string][]string{}
	for p, e := range sess.Manifest {
		paths[e.Hash] = append(paths[e.Hash], p)
	}
	return &AssetUpload{st: st, now: now, sess: sess, paths: paths, got: map[string]bool{}}, nil
}

// Add takes the base64 content of the file with hash, which must be in the
// session's manifest and hash as wrangler computes it.
func (u *AssetUpload) Add(hash string, b64 []byte) error {
	paths := u.paths[hash]
	if len(paths) == 0 {
		return invalid("Hash %s is not in this upload session's manifest", hash)
	}
	content, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil {
		return invalid("Asset %s is not valid base64", hash)
	}
	if AssetHash(paths[0], content) != hash {
		return invalid("Asset %s: the content does not match its hash", hash)
	}
	u.got[hash] = true
	return nil
}

// Finish stores the files added. Once the account holds every file the
// session needed it answers the completion JWT (done); before that, "".
func (u *AssetUpload) Finish() (completion string, done bool) {
	for h := range u.got {
		u.st.AssetSet[h] = true
	}
	for h := range u.sess.Needed {
		if !u.st.AssetSet[h] {
			return "", false
		}
	}
	u.sess.Complete = true
	return u.st.assetJWT(u.now, u.sess, "complete"), true
}

// completedAssets is the manifest ("/path" → hash) a completion JWT stands for.
func (st *State) completedAssets(now time.Time, jwt string) (map[string]string, error) {
	sess := st.parseAssetJWT(now, jwt, "complete")
	if sess == nil || !sess.Complete {
		return nil, invalid("The assets completion token is invalid or has expired. Upload the assets again.")
	}
	out := map[string]string{}
	for p, e := range sess.Manifest {
		if !st.AssetSet[e.Hash] {
			return nil, invalid("Asset %s was never uploaded", p)
		}
		out[p] = e.Hash
	}
	return out, nil
}
