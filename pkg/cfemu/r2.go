package cfemu

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
)

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
		if err := s.state.R2Enabled(); err != nil {
			writeFailure(w, err)
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
	page, cursor := s.state.ListBuckets(q.Get("name_contains"), after, per)
	out := []map[string]any{}
	for _, b := range page {
		out = append(out, bucketJSON(b))
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []any{}, "messages": []any{},
		"result": map[string]any{"buckets": out}, "result_info": map[string]any{"cursor": cursor, "per_page": per}})
}

func (s *Server) createBucket(w http.ResponseWriter, r *http.Request) {
	var body account.NewBucket
	if !decodeJSON(w, r, &body) {
		return
	}
	body.Jurisdiction = r.Header.Get("cf-r2-jurisdiction")
	b, err := s.state.CreateBucket(s.opts.Now(), body)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, bucketJSON(b))
}

func (s *Server) getBucket(w http.ResponseWriter, r *http.Request) {
	b, err := s.state.Bucket(r.PathValue("bucket"))
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, bucketJSON(b))
}

func (s *Server) deleteBucket(w http.ResponseWriter, r *http.Request) {
	if err := s.state.DeleteBucket(r.PathValue("bucket")); err != nil {
		writeFailure(w, err)
		return
	}
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
	acct, item := PermR2Read, PermR2BucketItemRead
	if write {
		acct, item = PermR2Write, PermR2BucketItemWrite
	}
	return s.guarded("", func(w http.ResponseWriter, r *http.Request, t *Token) {
		if !t.Allows(acct) && !t.Allows(item) && !(!write && t.Allows(PermR2BucketItemWrite)) {
			fail(w, http.StatusForbidden, 10000, "Authentication error")
			return
		}
		if err := s.state.R2Enabled(); err != nil {
			writeFailure(w, err)
			return
		}
		b, err := s.state.Bucket(r.PathValue("bucket"))
		if err != nil {
			writeFailure(w, err)
			return
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
	page, cursor := account.ListObjects(b, q.Get("prefix"), q.Get("cursor"), per)
	out := []map[string]any{}
	for _, o := range page {
		out = append(out, objectJSON(o))
	}
	truncated := cursor != ""
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": out,
		"result_info": map[string]any{"cursor": cursor, "is_truncated": truncated, "per_page": per}})
}

// getObject answers the object's bytes, as the real endpoint does.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, b *Bucket) {
	o, err := account.Object(b, r.PathValue("key"))
	if err != nil {
		writeFailure(w, err)
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
	o := account.PutObject(s.opts.Now(), b, r.PathValue("key"), r.Header.Get("Content-Type"), data)
	ok(w, http.StatusOK, objectJSON(o))
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, b *Bucket) {
	delete(b.Store, r.PathValue("key"))
	ok(w, http.StatusOK, map[string]any{})
}
