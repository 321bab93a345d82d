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
	if ok, err := st.bucketExists(ctx, name); err != nil || !ok {
		return false, "create bucket " + name
	}
	if st.Saved.Dep.Bucket != name {
		// Made by preflight or by hand: the state records it.
		return false, "record bucket " + name
	}
	return true, "bucket " + name + " exists"
}

func (*bucketStep) Run(ctx context.Context, st *State) error {
	name := st.In.bucketName()
	// Look first: a create that failed on the way back may have succeeded.
	ok, err := st.bucketExists(ctx, name)
	if err != nil {
		return err
	}
	if ok {
		st.Saved.Dep.Bucket = name
		st.Learned.Details["bucket"] = "bucket " + name + " exists"
		return nil
	}
	if _, err := st.Deps.API.CreateBucket(ctx, name, ""); err != nil {
		if cfapi.IsStatus(err, http.StatusConflict) {
			st.Saved.Dep.Bucket = name
			return nil
		}
		return fmt.Errorf("create R2 bucket %q: %w", name, err)
	}
	st.Deps.Reads.Forget(ReadBuckets, "bucket:"+name)
	st.Saved.Dep.Bucket = name
	st.Learned.Details["bucket"] = "created " + name
	return nil
}
