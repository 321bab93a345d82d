package cfapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/zeebo/blake3"
)

// AssetEntry is one file of a static assets manifest.
type AssetEntry struct {
	Hash string `json:"hash"`
	Size int64  `json:"size"`
}

// AssetManifest maps "/relative/path" to its entry, as wrangler sends it.
type AssetManifest map[string]AssetEntry

// AssetHash is the hash wrangler gives a static asset: the first 32 hex
// digits of BLAKE3(base64(content) + extension without the dot).
func AssetHash(filePath string, content []byte) string {
	ext := strings.TrimPrefix(path.Ext(filePath), ".")
	sum := blake3.Sum256([]byte(base64.StdEncoding.EncodeToString(content) + ext))
	return hex.EncodeToString(sum[:])[:32]
}

// maxAssetSize is Cloudflare's per-file limit.
const maxAssetSize = 25 << 20

// ReadAssets walks dir as wrangler does (regular files only, .assetsignore
// entries and the ignore file itself skipped) and returns the manifest and
// the file behind each hash.
func ReadAssets(dir string) (AssetManifest, map[string]string, error) {
	ignore := readAssetsIgnore(dir)
	m := AssetManifest{}
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == ".assetsignore" || ignored(ignore, rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if len(b) > maxAssetSize {
			return fmt.Errorf("asset %s is %d bytes, over Cloudflare's 25 MiB limit", rel, len(b))
		}
		h := AssetHash(rel, b)
		m["/"+rel] = AssetEntry{Hash: h, Size: int64(len(b))}
		files[h] = p
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read assets in %s: %w", dir, err)
	}
	return m, files, nil
}

func readAssetsIgnore(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, ".assetsignore"))
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.TrimPrefix(l, "/"))
		}
	}
	return out
}

func ignored(patterns []string, rel string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok {
			return true
		}
		if strings.HasPrefix(rel, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// AssetStats says what an assets upload sent.
type AssetStats struct {
	Files    int `json:"files"`
	Uploaded int `json:"uploaded"`
	Skipped  int `json:"skipped"`
}

// ErrAssetsIncomplete is an assets upload whose every bucket was accepted
// but which never got a completion JWT. Files already sent are kept, so a
// new attempt resumes.
var ErrAssetsIncomplete = errors.New("failed to complete asset upload: no upload response carried the completion token; deploy again to resume")

// UploadAssets runs the static assets upload session for Worker script:
// it sends the manifest, uploads only the files whose hashes Cloudflare
// asks for (authenticated by the session's JWT, never the API token), and
// returns the completion JWT for the upload's metadata.
func (c *Client) UploadAssets(ctx context.Context, script, dir string) (string, AssetStats, error) {
	m, files, err := ReadAssets(dir)
	if err != nil {
		return "", AssetStats{}, err
	}
	stats := AssetStats{Files: len(m)}
	var sess struct {
		JWT     string     `json:"jwt"`
		Buckets [][]string `json:"buckets"`
	}
	// Opening a session changes nothing remotely: safe to repeat.
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("workers/scripts/%s/assets-upload-session", url.PathEscape(script)),
		JSON: map[string]any{"manifest": m}, Idempotent: true}, &sess); err != nil {
		return "", stats, fmt.Errorf("start assets upload session: %w", err)
	}
	pathOf := map[string]string{}
	for p, e := range m {
		pathOf[e.Hash] = p
	}
	// With nothing to upload the session's JWT completes the upload;
	// otherwise the upload service answers the completion JWT with the
	// last bucket only (packages/deploy-helpers/src/deploy/helpers/assets.ts).
	jwt := ""
	if len(sess.Buckets) == 0 {
		jwt = sess.JWT
	}
	for _, bucket := range sess.Buckets {
		body, ct, err := encodeAssetBucket(bucket, files, pathOf)
		if err != nil {
			return "", stats, err
		}
		var res struct {
			JWT string `json:"jwt"`
		}
		// Uploading content-addressed files again is harmless: safe to repeat.
		err = c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("workers/assets/upload"), Query: url.Values{"base64": {"true"}},
			Body: body, ContentType: ct, Header: http.Header{"Authorization": {"Bearer " + sess.JWT}}, Idempotent: true}, &res)
		if err != nil {
			return "", stats, fmt.Errorf("upload assets: %w", err)
		}
		stats.Uploaded += len(bucket)
		if res.JWT != "" {
			jwt = res.JWT
		}
	}
	stats.Skipped = stats.Files - stats.Uploaded
	if jwt == "" {
		// The upload JWT would be refused with the Worker upload, after
		// the assets were sent; fail here, as wrangler does.
		return "", stats, ErrAssetsIncomplete
	}
	return jwt, stats, nil
}

func encodeAssetBucket(bucket []string, files, pathOf map[string]string) ([]byte, string, error) {
	sort.Strings(bucket)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, h := range bucket {
		p, ok := files[h]
		if !ok {
			return nil, "", fmt.Errorf("upload assets: Cloudflare asked for %s, which is not in the manifest", h)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, "", err
		}
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, h, h))
		hdr.Set("Content-Type", assetContentType(pathOf[h]))
		w, err := mw.CreatePart(hdr)
		if err != nil {
			return nil, "", err
		}
		_, _ = w.Write([]byte(base64.StdEncoding.EncodeToString(b)))
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// assetContentType is the MIME type wrangler sends for a file: text types
// get a UTF-8 charset; unknown types "application/null", which the API
// reads as "serve without a Content-Type" (a part without one would be
// taken as application/octet-stream).
func assetContentType(p string) string {
	t := mime.TypeByExtension(path.Ext(p))
	if t == "" {
		return "application/null"
	}
	if strings.HasPrefix(t, "text/") && !strings.Contains(t, "charset") {
		t += "; charset=utf-8"
	}
	return t
}
