package deploy

import (
	"context"
	"fmt"
	"net/http"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// bucketStep creates the R2 bucket the Worker binds, when missing.
type bucketStep struct{}

func (*bucketStep) Name() string   { return "bucket" }
func (*bucketStep) String() string { return "create the R2 bucket if it is missing" }

// bucketName is the bucket the deploy provisions ("" when none).
func (in *Inputs) bucketName() string {
	if b, ok := in.Config.Bucket(""); ok {
		return b.BucketName
	}
	return ""
}

func (*bucketStep) Skip(ctx context.Context, st *State) (bool, string) {
	name := st.In.bucketName()
	if name == "" {
		return true, "the Worker binds no R2 bucket"
	}
	if _, err := st.Deps.API.GetBucket(ctx, name); err == nil {
		st.Saved.Dep.Bucket = name
		return true, "bucket " + name + " exists"
	}
	return false, "create bucket " + name
}

func (*bucketStep) Run(ctx context.Context, st *State) error {
	name := st.In.bucketName()
	// Look first: a create that failed on the way back may have succeeded.
	_, err := st.Deps.API.GetBucket(ctx, name)
	if err == nil {
		st.Saved.Dep.Bucket = name
		return Skipped("bucket %s exists", name)
	}
	if !cfapi.NotFound(err) && !cfapi.HasCode(err, cfapi.CodeBucketNotFound) {
		return fmt.Errorf("look up R2 bucket %q: %w", name, err)
	}
	if _, err := st.Deps.API.CreateBucket(ctx, name, ""); err != nil {
		if cfapi.IsStatus(err, http.StatusConflict) {
			st.Saved.Dep.Bucket = name
			return nil
		}
		return fmt.Errorf("create R2 bucket %q: %w", name, err)
	}
	st.Saved.Dep.Bucket = name
	st.Learned.Details["bucket"] = "created " + name
	return nil
}
