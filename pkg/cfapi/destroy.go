package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Deleting is idempotent: every Delete* here returns (false, nil) when the
// object is already gone, so `moltctl destroy` can be re-run.

// gone reports whether err means the object does not exist.
func gone(err error) bool {
	return IsStatus(err, http.StatusNotFound) || HasCode(err, CodeNotFound) || HasCode(err, CodeBucketNotFound)
}

func (c *Client) deleteAt(ctx context.Context, path string, q url.Values) (bool, error) {
	err := c.Do(ctx, Request{Method: http.MethodDelete, Path: path, Query: q}, nil)
	if err == nil {
		return true, nil
	}
	if gone(err) {
		return false, nil
	}
	return false, err
}

// noRoute reports a 404 for an unknown endpoint rather than a missing object.
func noRoute(err error) bool { return HasCode(err, 7003) || HasCode(err, 7000) }

// DeleteScript deletes a Worker script with its bindings' attachments
// (force, as `wrangler delete` does). It leaves the container application.
func (c *Client) DeleteScript(ctx context.Context, name string) (bool, error) {
	q := url.Values{"force": {"true"}}
	ok, err := c.deleteAt(ctx, c.AccountPath("workers/scripts/%s", url.PathEscape(name)), q)
	if err != nil && noRoute(err) {
		// wrangler's own path.
		return c.deleteAt(ctx, c.AccountPath("workers/services/%s", url.PathEscape(name)), q)
	}
	return ok, err
}

// ContainerAppRef is the identity of a container application.
type ContainerAppRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// FindContainerAppsByName returns the container applications called name.
func (c *Client) FindContainerAppsByName(ctx context.Context, name string) ([]ContainerAppRef, error) {
	var apps []ContainerAppRef
	if err := c.Do(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("containers/applications")}, &apps); err != nil {
		return nil, err
	}
	var out []ContainerAppRef
	for _, a := range apps {
		if a.Name == name {
			out = append(out, a)
		}
	}
	return out, nil
}

// DeleteContainerApp deletes a container application by id.
func (c *Client) DeleteContainerApp(ctx context.Context, id string) (bool, error) {
	return c.deleteAt(ctx, c.AccountPath("containers/applications/%s", url.PathEscape(id)), nil)
}

// AccessAppRef is the identity of an Access application.
type AccessAppRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
	AUD    string `json:"aud"`
}

// FindAccessAppsByDomain returns the Access applications protecting domain
// (host, with or without a path).
func (c *Client) FindAccessAppsByDomain(ctx context.Context, domain string) ([]AccessAppRef, error) {
	apps, err := listPages[AccessAppRef](ctx, c, c.AccountPath("access/apps"))
	if err != nil {
		return nil, err
	}
	var out []AccessAppRef
	for _, a := range apps {
		if a.Domain == domain || hostPart(a.Domain) == domain {
			out = append(out, a)
		}
	}
	return out, nil
}

func hostPart(d string) string {
	for i := 0; i < len(d); i++ {
		if d[i] == '/' {
			return d[:i]
		}
	}
	return d
}

// DeleteAccessAppPolicy deletes an application-scoped Access policy.
func (c *Client) DeleteAccessAppPolicy(ctx context.Context, appID, policyID string) (bool, error) {
	return c.deleteAt(ctx, c.AccountPath("access/apps/%s/policies/%s", url.PathEscape(appID), url.PathEscape(policyID)), nil)
}

// DeleteAccessPolicy deletes a reusable (account-level) Access policy.
func (c *Client) DeleteAccessPolicy(ctx context.Context, policyID string) (bool, error) {
	return c.deleteAt(ctx, c.AccountPath("access/policies/%s", url.PathEscape(policyID)), nil)
}

// DeleteAccessApp deletes an Access application; its app-scoped policies go with it.
func (c *Client) DeleteAccessApp(ctx context.Context, appID string) (bool, error) {
	return c.deleteAt(ctx, c.AccountPath("access/apps/%s", url.PathEscape(appID)), nil)
}

// DeleteServiceToken deletes an Access service token.
func (c *Client) DeleteServiceToken(ctx context.Context, id string) (bool, error) {
	return c.deleteAt(ctx, c.AccountPath("access/service_tokens/%s", url.PathEscape(id)), nil)
}

// DeleteAccountToken revokes an API token: an account-owned one, or else a
// user-owned one with the same id.
func (c *Client) DeleteAccountToken(ctx context.Context, id string) (bool, error) {
	ok, err := c.deleteAt(ctx, c.AccountPath("tokens/%s", url.PathEscape(id)), nil)
	if ok || (err != nil && !noRoute(err)) {
		return ok, err
	}
	return c.deleteAt(ctx, "user/tokens/"+url.PathEscape(id), nil)
}

// ErrBucketNotEmpty is returned by DeleteBucket when objects remain.
var ErrBucketNotEmpty = errors.New("the bucket is not empty")

// CodeBucketNotEmpty is R2's "The bucket you tried to delete is not empty".
const CodeBucketNotEmpty = 10008

// DeleteBucket deletes an R2 bucket, which must be empty.
func (c *Client) DeleteBucket(ctx context.Context, name string) (bool, error) {
	ok, err := c.deleteAt(ctx, c.AccountPath("r2/buckets/%s", url.PathEscape(name)), nil)
	if HasCode(err, CodeBucketNotEmpty) || IsStatus(err, http.StatusConflict) {
		return false, errors.Join(ErrBucketNotEmpty, err)
	}
	return ok, err
}

// EmptyBucket deletes every object in an R2 bucket and returns how many it deleted.
func (c *Client) EmptyBucket(ctx context.Context, name string) (int, error) {
	n := 0
	for round := 0; round < 10000; round++ {
		var objs []struct {
			Key string `json:"key"`
		}
		env, err := c.DoEnvelope(ctx, Request{Method: http.MethodGet, Path: c.AccountPath("r2/buckets/%s/objects", url.PathEscape(name)),
			Query: url.Values{"per_page": {"1000"}}})
		if err != nil && noRoute(err) {
			return n, fmt.Errorf("list the objects of bucket %s: this API does not list objects: %w", name, err)
		}
		if gone(err) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if err := unmarshalResult(env, &objs); err != nil {
			return n, err
		}
		if len(objs) == 0 {
			return n, nil
		}
		for _, o := range objs {
			if _, err := c.deleteAt(ctx, c.objectPath(name, o.Key), nil); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
