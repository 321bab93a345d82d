package cfapi

import (
	"context"
	"net/http"
	"net/url"
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

// ListBuckets lists the account's R2 buckets (the first 1000, enough for
// looking one up). An account without R2 answers CodeR2NotEnabled.
func (c *Client) ListBuckets(ctx context.Context) ([]Bucket, error) {
	var res struct {
		Buckets []Bucket `json:"buckets"`
	}
	q := url.Values{"per_page": {"1000"}}
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
