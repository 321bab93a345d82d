package account

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

var bucketNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

var locationHints = map[string]bool{"wnam": true, "enam": true, "weur": true, "eeur": true, "apac": true, "oc": true}

// R2Enabled answers 403 10042, as every R2 endpoint does, until R2 is
// enabled on the account (a dashboard step).
func (st *State) R2Enabled() error {
	if !st.Account.R2Enabled {
		return errorf(http.StatusForbidden, 10042, "Please enable R2 through the Cloudflare Dashboard.")
	}
	return nil
}

// NewBucket is POST r2/buckets.
type NewBucket struct {
	Name         string `json:"name"`
	LocationHint string `json:"locationHint"`
	StorageClass string `json:"storageClass"`
	// Jurisdiction comes from the cf-r2-jurisdiction header.
	Jurisdiction string `json:"-"`
}

// CreateBucket creates an R2 bucket (location wnam and class Standard
// unless given).
func (st *State) CreateBucket(now time.Time, nb NewBucket) (*Bucket, error) {
	if !bucketNameRE.MatchString(nb.Name) {
		return nil, errorf(http.StatusBadRequest, 10005, "The bucket name is not valid. Bucket names must be 3-63 characters of lower-case letters, digits and hyphens, starting and ending with a letter or digit.")
	}
	if nb.LocationHint != "" && !locationHints[strings.ToLower(nb.LocationHint)] {
		return nil, errorf(http.StatusBadRequest, 10040, "The location hint %q is not valid.", nb.LocationHint)
	}
	if nb.StorageClass != "" && nb.StorageClass != "Standard" && nb.StorageClass != "InfrequentAccess" {
		return nil, errorf(http.StatusBadRequest, 10059, "The storage class %q is not valid.", nb.StorageClass)
	}
	if st.Buckets[nb.Name] != nil {
		return nil, errorf(http.StatusConflict, 10004, "The bucket you tried to create already exists, and you own it.")
	}
	b := &Bucket{Name: nb.Name, CreationDate: now.UTC(), Location: strings.ToLower(nb.LocationHint),
		StorageClass: nb.StorageClass, Jurisdiction: nb.Jurisdiction}
	if b.Location == "" {
		b.Location = "wnam"
	}
	if b.StorageClass == "" {
		b.StorageClass = "Standard"
	}
	st.Buckets[b.Name] = b
	return b, nil
}

// Bucket is the bucket name, or 404 10006.
func (st *State) Bucket(name string) (*Bucket, error) {
	b := st.Buckets[name]
	if b == nil {
		return nil, errorf(http.StatusNotFound, 10006, "The specified bucket does not exist.")
	}
	if b.Store == nil {
		b.Store = map[string]*R2Object{}
	}
	return b, nil
}

// DeleteBucket deletes an empty bucket (409 10008 when it holds objects).
func (st *State) DeleteBucket(name string) error {
	b, err := st.Bucket(name)
	if err != nil {
		return err
	}
	if b.Objects+len(b.Store) > 0 {
		return errorf(http.StatusConflict, 10008, "The bucket you tried to delete is not empty.")
	}
	delete(st.Buckets, b.Name)
	return nil
}

// ListBuckets is one page of buckets by name: those containing contains,
// after after, at most per; cursor is the last name when more follow.
func (st *State) ListBuckets(contains, after string, per int) (page []*Bucket, cursor string) {
	names := []string{}
	for n := range st.Buckets {
		if contains != "" && !strings.Contains(n, contains) {
			continue
		}
		if after != "" && n <= after {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > per {
		names = names[:per]
		cursor = names[per-1]
	}
	page = []*Bucket{}
	for _, n := range names {
		page = append(page, st.Buckets[n])
	}
	return page, cursor
}

// ListObjects is one page of b's objects by key: those under prefix, after
// cursor, at most per; next is the last key when more follow.
func ListObjects(b *Bucket, prefix, cursor string, per int) (page []*R2Object, next string) {
	keys := []string{}
	for k := range b.Store {
		if strings.HasPrefix(k, prefix) && (cursor == "" || k > cursor) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) > per {
		keys = keys[:per]
		next = keys[per-1]
	}
	page = []*R2Object{}
	for _, k := range keys {
		page = append(page, b.Store[k])
	}
	return page, next
}

// Object is b's object key, or 404 10007.
func Object(b *Bucket, key string) (*R2Object, error) {
	o := b.Store[key]
	if o == nil {
		return nil, errorf(http.StatusNotFound, 10007, "The specified key does not exist.")
	}
	return o, nil
}

// PutObject stores data under key (ETag: its MD5, as R2's).
func PutObject(now time.Time, b *Bucket, key, contentType string, data []byte) *R2Object {
	sum := md5.Sum(data)
	o := &R2Object{Key: key, Size: len(data), ETag: hex.EncodeToString(sum[:]),
		ContentType: contentType, Uploaded: now.UTC(), Data: data}
	if b.Store == nil {
		b.Store = map[string]*R2Object{}
	}
	b.Store[o.Key] = o
	return o
}
