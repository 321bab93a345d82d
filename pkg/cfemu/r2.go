package cfemu

import (
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

var locationHints = map[string]bool{"wnam": true, "enam": true, "weur": true, "eeur": true, "apac": true, "oc": true}

func (s *Server) registerR2() {
	base := "/accounts/{account_id}/r2/buckets"
	s.handle("GET", base, s.guarded(PermR2Read, s.r2(s.listBuckets)))
	s.handle("POST", base, s.guarded(PermR2Write, s.r2(s.createBucket)))
	s.handle("GET", base+"/{bucket}", s.guarded(PermR2Read, s.r2(s.getBucket)))
	s.handle("DELETE", base+"/{bucket}", s.guarded(PermR2Write, s.r2(s.deleteBucket)))
	s.registerR2Objects()
}

// r2 answers 10042 on every R2 endpoint until R2 is enabled on the account
// (a dashboard step).
func (s *Server) r2(h func(http.ResponseWriter, *http.Request)) func(http.ResponseWriter, *http.Request, *Token) {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		if !s.state.Account.R2Enabled {
			fail(w, http.StatusForbidden, 10042, "Please enable R2 through the Cloudflare Dashboard.")
			return
		}
		h(w, r)
	}
}

func bucketJSON(b *Bucket) map[string]any {
	m := map[string]any{"name": b.Name, "creation_date": b.CreationDate.UTC().Format("2006-01-02T15:04:05.000Z")}
	if b.Location != "" {
		m["location"] = strings.ToUpper(b.Location)
	}
	if b.StorageClass != "" {
		m["storage_class"] = b.StorageClass
	} else {
		m["storage_class"] = "Standard"
	}
	if b.Jurisdiction != "" {
		m["jurisdiction"] = b.Jurisdiction
	}
	return m
}

// listBuckets pages by cursor: result {buckets}, result_info {cursor, per_page}.
func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per < 1 || per > 1000 {
		per = 20
	}
	after := q.Get("cursor")
	if after == "" {
		after = q.Get("start_after")
	}
	names := []string{}
	for n := range s.state.Buckets {
		if c := q.Get("name_contains"); c != "" && !strings.Contains(n, c) {
			continue
		}
		if after != "" && n <= after {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	cursor := ""
	if len(names) > per {
		names = names[:per]
		cursor = names[per-1]
	}
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, bucketJSON(s.state.Buckets[n]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []any{}, "messages": []any{},
		"result": map[string]any{"buckets": out}, "result_info": map[string]any{"cursor": cursor, "per_page": per}})
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name         string `json:"name"`
		LocationHint string `json:"locationHint"`
		StorageClass string `json:"storageClass"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if !bucketNameRE.MatchString(body.Name) {
		fail(w, http.StatusBadRequest, 10005, "The bucket name is not valid. Bucket names must be 3-63 characters of lower-case letters, digits and hyphens, starting and ending with a letter or digit.")
		return
	}
	if body.LocationHint != "" && !locationHints[strings.ToLower(body.LocationHint)] {
		fail(w, http.StatusBadRequest, 10040, "The location hint %q is not valid.", body.LocationHint)
		return
	}
	if body.StorageClass != "" && body.StorageClass != "Standard" && body.StorageClass != "InfrequentAccess" {
		fail(w, http.StatusBadRequest, 10059, "The storage class %q is not valid.", body.StorageClass)
		return
	}
	if s.state.Buckets[body.Name] != nil {
		fail(w, http.StatusConflict, 10004, "The bucket you tried to create already exists, and you own it.")
		return
	}
	b := &Bucket{Name: body.Name, CreationDate: s.opts.Now().UTC(), Location: strings.ToLower(body.LocationHint),
		StorageClass: body.StorageClass, Jurisdiction: r.Header.Get("cf-r2-jurisdiction")}
	if b.Location == "" {
		b.Location = "wnam"
	}
	if b.StorageClass == "" {
		b.StorageClass = "Standard"
	}
	s.state.Buckets[b.Name] = b
	ok(w, http.StatusOK, bucketJSON(b))
}

func (s *Server) getBucket(w http.ResponseWriter, r *http.Request) {
	b := s.state.Buckets[r.PathValue("bucket")]
	if b == nil {
		fail(w, http.StatusNotFound, 10006, "The specified bucket does not exist.")
		return
	}
	ok(w, http.StatusOK, bucketJSON(b))
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request) {
	b := s.state.Buckets[r.PathValue("bucket")]
	if b == nil {
		fail(w, http.StatusNotFound, 10006, "The specified bucket does not exist.")
		return
	}
	if b.Objects+len(b.Store) > 0 {
		fail(w, http.StatusConflict, 10008, "The bucket you tried to delete is not empty.")
		return
	}
	delete(s.state.Buckets, b.Name)
	ok(w, http.StatusOK, map[string]any{})
}

// PermR2BucketItemWrite is the bucket-scoped object permission.
const PermR2BucketItemWrite = "Workers R2 Storage Bucket Item Write"

// PermR2BucketItemRead is the bucket-scoped read permission.
const PermR2BucketItemRead = "Workers R2 Storage Bucket Item Read"

func (s *Server) registerR2Objects() {
	base := "/accounts/{account_id}/r2/buckets/{bucket}/objects"
	s.handle("GET", base, s.r2Objects(false, s.listObjects))
	s.handle("GET", base+"/{key...}", s.r2Objects(false, s.getObject))
	s.handle("PUT", base+"/{key...}", s.r2Objects(true, s.putObject))
	s.handle("DELETE", base+"/{key...}", s.r2Objects(true, s.deleteObject))
}

// r2Objects guards the object endpoints: account-wide R2 permissions or the
// bucket-item ones, R2 enabled, and the bucket existing.
func (s *Server) r2Objects(write bool, h func(http.ResponseWriter, *http.Request, *Bucket)) http.HandlerFunc {
	account, item := PermR2Read, PermR2BucketItemRead
	if write {
		account, item = PermR2Write, PermR2BucketItemWrite
	}
	return s.guarded("", func(w http.ResponseWriter, r *http.Request, t *Token) {
		if !hasPermission(t, account) && !hasPermission(t, item) && !(!write && hasPermission(t, PermR2BucketItemWrite)) {
			fail(w, http.StatusForbidden, 10000, "Authentication error")
			return
		}
		if !s.state.Account.R2Enabled {
			fail(w, http.StatusForbidden, 10042, "Please enable R2 through the Cloudflare Dashboard.")
			return
		}
		b := s.state.Buckets[r.PathValue("bucket")]
		if b == nil {
			fail(w, http.StatusNotFound, 10006, "The specified bucket does not exist.")
			return
		}
		if b.Store == nil {
			b.Store = map[string]*R2Object{}
		}
		h(w, r, b)
	})
}

func objectJSON(o *R2Object) map[string]any {
	return map[string]any{"key": o.Key, "size": o.Size, "etag": o.ETag,
		"last_modified": o.Uploaded.UTC().Format("2006-01-02T15:04:05.000Z"),
		"http_metadata": map[string]string{"contentType": o.ContentType}, "custom_metadata": map[string]string{},
		"storage_class": "Standard"}
}

// listObjects pages objects by key: result [objects], result_info {cursor, is_truncated, per_page}.
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, b *Bucket) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per < 1 || per > 1000 {
		per = 1000
	}
	keys := []string{}
	for k := range b.Store {
		if strings.HasPrefix(k, q.Get("prefix")) && (q.Get("cursor") == "" || k > q.Get("cursor")) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	cursor, truncated := "", false
	if len(keys) > per {
		keys, truncated = keys[:per], true
		cursor = keys[per-1]
	}
	out := []map[string]any{}
	for _, k := range keys {
		out = append(out, objectJSON(b.Store[k]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": out,
		"result_info": map[string]any{"cursor": cursor, "is_truncated": truncated, "per_page": per}})
}

// getObject answers the object's bytes, as the real endpoint does.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, b *Bucket) {
	o := b.Store[r.PathValue("key")]
	if o == nil {
		fail(w, http.StatusNotFound, 10007, "The specified key does not exist.")
		return
	}
	if o.ContentType != "" {
		w.Header().Set("Content-Type", o.ContentType)
	}
	w.Header().Set("ETag", `"`+o.ETag+`"`)
	_, _ = w.Write(o.Data)
}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, b *Bucket) {
	data, _ := io.ReadAll(r.Body)
	sum := md5.Sum(data)
	o := &R2Object{Key: r.PathValue("key"), Size: len(data), ETag: hex.EncodeToString(sum[:]),
		ContentType: r.Header.Get("Content-Type"), Uploaded: s.opts.Now().UTC(), Data: data}
	b.Store[o.Key] = o
	ok(w, http.StatusOK, objectJSON(o))
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, b *Bucket) {
	delete(b.Store, r.PathValue("key"))
	ok(w, http.StatusOK, map[string]any{})
}
