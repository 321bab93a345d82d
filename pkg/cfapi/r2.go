package cfapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Bucket is an R2 bucket.
type Bucket struct {
	Name         string `json:"name"`
	CreationDate string `json:"creation_date,omitempty"`
	Location     string `json:"location,omitempty"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	StorageClass string `json:"storage_class,omitempty"`
}

// GetBucket reads bucket name. A missing bucket is an APIError with
// CodeBucketNotFound (NotFound is true); an account without R2 answers
// CodeR2NotEnabled.
func (c *Client) GetBucket(ctx context.Context, name string) (*Bucket, error) {
	var b Bucket
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("r2/buckets/%s", url.PathEscape(name))}, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// BucketsPerPage is how many buckets ListBuckets asks for (one page).
const BucketsPerPage = 1000

// ListBuckets lists the account's R2 buckets (the first 1000, enough for
// looking one up). An account without R2 answers CodeR2NotEnabled.
func (c *Client) ListBuckets(ctx context.Context) ([]Bucket, error) {
	var res struct {
		Buckets []Bucket `json:"buckets"`
	}
	q := url.Values{"per_page": {strconv.Itoa(BucketsPerPage)}}
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("r2/buckets"), Query: q}, &res); err != nil {
		return nil, err
	}
	return res.Buckets, nil
}

// CreateBucket creates bucket name; location is a hint ("" lets Cloudflare
// choose, else wnam, enam, weur, eeur, apac, oc).
func (c *Client) CreateBucket(ctx context.Context, name, location string) (*Bucket, error) {
	body := map[string]string{"name": name}
	if location != "" {
		body["locationHint"] = location
	}
	var b Bucket
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("r2/buckets"), JSON: body}, &b); err != nil {
		return nil, err
	}
	if b.Name == "" {
		b.Name = name
	}
	return &b, nil
}

// PutObject writes an object into an R2 bucket through the API, as
// `wrangler r2 object put --remote` does.
func (c *Client) PutObject(ctx context.Context, bucket, key string, body []byte, contentType string) error {
	return c.Do(ctx, Request{Method: http.MethodPut, Path: c.objectPath(bucket, key), Body: body, ContentType: contentType}, nil)
}

// GetObject reads an object's bytes. A missing object or bucket is an
// APIError for which NotFound is true.
func (c *Client) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	var b []byte
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.objectPath(bucket, key), Raw: &b}, nil); err != nil {
		return nil, err
	}
	return b, nil
}

// DeleteObject deletes an object; deleting one that is not there succeeds.
func (c *Client) DeleteObject(ctx context.Context, bucket, key string) error {
	return c.Do(ctx, Request{Method: http.MethodDelete, Path: c.objectPath(bucket, key)}, nil)
}

func (c *Client) objectPath(bucket, key string) string {
	return c.AccountPath("r2/buckets/%s/objects/%s", url.PathEscape(bucket), url.PathEscape(key))
}
