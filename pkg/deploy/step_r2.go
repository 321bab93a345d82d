package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// r2CredentialsStep gives the container S3 credentials for its bucket: an
// account API token scoped to the bucket with object read and write, whose
// id is the access key id and whose value's SHA-256 (hex) is the secret
// access key, as Cloudflare documents for R2.
type r2CredentialsStep struct{}

func (*r2CredentialsStep) Name() string { return "r2-credentials" }
func (*r2CredentialsStep) String() string {
	return "create an R2 token scoped to the bucket and derive the S3 credentials"
}

// Where the derived R2 credentials are kept in the credentials file.
const (
	credR2KeyID  = "R2_ACCESS_KEY_ID"
	credR2Secret = "R2_SECRET_ACCESS_KEY"
)

func (in *Inputs) wantsR2() bool {
	if in.bucketName() == "" || in.Manifest == nil {
		return false
	}
	if in.Manifest.Persistence.R2 {
		return true
	}
	for _, n := range in.Manifest.DeployNames() {
		if n == credR2KeyID || n == credR2Secret {
			return true
		}
	}
	return false
}

// accountTokens lists the account's API tokens.
func (st *State) accountTokens(ctx context.Context) ([]cfapi.Token, error) {
	return read(st.Deps.Reads, readAccountTokens, func() ([]cfapi.Token, error) {
		var toks []cfapi.Token
		err := st.Deps.API.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: st.Deps.API.AccountPath("tokens")}, &toks)
		return toks, err
	})
}

// kept reports whether t is the token whose keys the credentials hold.
func (*r2CredentialsStep) kept(st *State, t cfapi.Token) bool {
	g := st.Saved.Creds.Generated
	return t.ID == st.Saved.Dep.R2Token.ID && g[credR2KeyID] == t.ID && g[credR2Secret] != ""
}

func (s *r2CredentialsStep) Skip(ctx context.Context, st *State) (bool, string) {
	if !st.In.wantsR2() {
		return true, "persistence to R2 is off in moltctl.yaml"
	}
	name := st.In.ObjectName("R2 " + st.In.bucketName())
	toks, err := st.accountTokens(ctx)
	if err != nil {
		return false, ""
	}
	found := false
	for _, t := range toks {
		if t.Name != name {
			continue
		}
		// Locked, the keys are sealed in the account and the Worker has them.
		if found || !(s.kept(st, t) || (st.Saved.locked() && t.ID == st.Saved.Dep.R2Token.ID)) {
			return false, "replace the token " + name
		}
		found = true
	}
	if !found {
		return false, "create the token " + name
	}
	return true, "token " + name + " is in place"
}

func (s *r2CredentialsStep) Run(ctx context.Context, st *State) error {
	bucket := st.In.bucketName()
	name := st.In.ObjectName("R2 " + bucket)
	toks, err := st.accountTokens(ctx)
	if err != nil {
		return tokensRefused(fmt.Errorf("list API tokens: %w", err))
	}
	var have *cfapi.Token
	for i := range toks {
		t := &toks[i]
		if t.Name != name {
			continue
		}
		if s.kept(st, *t) {
			have = t
			continue
		}
		if st.Saved.locked() {
			// Its keys are sealed in the account; the Worker holds them.
			have = t
			st.Saved.Dep.R2Token.ID = t.ID
			continue
		}
		// Its value was never kept (a run stopped after creating it).
		st.Deps.Reads.Forget(readAccountTokens)
		if _, err := st.Deps.API.DeleteAccountToken(ctx, t.ID); err != nil {
			return fmt.Errorf("replace API token %s: %w", t.ID, err)
		}
	}
	detail := "token " + name + " is in place"
	if have == nil && st.Saved.locked() {
		return errLocked("the R2 token " + name + " is missing")
	}
	if have == nil {
		groupID := cfapi.R2BucketItemWrite
		if gs, err := st.Deps.API.ListPermissionGroups(ctx, "Workers R2 Storage Bucket Item Write"); err == nil && len(gs) > 0 {
			groupID = gs[0].ID
		}
		pol := cfapi.TokenPolicy{Effect: "allow", PermissionGroups: []cfapi.PermissionGroup{{ID: groupID}},
			Resources: map[string]any{cfapi.R2BucketResource(st.In.AccountID, bucket): "*"}}
		st.Deps.Reads.Forget(readAccountTokens)
		t, err := st.Deps.API.CreateAccountToken(ctx, name, []cfapi.TokenPolicy{pol})
		if err != nil {
			return tokensRefused(fmt.Errorf("create API token %q: %w", name, err))
		}
		sum := sha256.Sum256([]byte(t.Value))
		st.Saved.Creds.Generated[credR2KeyID] = t.ID
		st.Saved.Creds.Generated[credR2Secret] = hex.EncodeToString(sum[:])
		if err := st.Saved.save(ctx); err != nil {
			return fmt.Errorf("save R2 credentials: %w", err)
		}
		st.Saved.Dep.R2Token.ID = t.ID
		if err := st.Saved.save(ctx); err != nil {
			return err
		}
		detail = "created token " + name
	}
	if !st.Saved.locked() {
		st.Learned.DeployValues[credR2KeyID] = st.Saved.Creds.Generated[credR2KeyID]
		st.Learned.DeployValues[credR2Secret] = st.Saved.Creds.Generated[credR2Secret]
	}
	st.Learned.DeployValues["CF_ACCOUNT_ID"] = st.In.AccountID
	st.Learned.DeployValues["R2_BUCKET_NAME"] = bucket
	st.Learned.Details["r2-credentials"] = detail
	return nil
}

// tokensRefused names the permission a refusal of /accounts/{id}/tokens
// means: the account permission, not the user one called "API Tokens".
func tokensRefused(err error) error {
	if cfapi.IsStatus(err, http.StatusForbidden) || cfapi.IsStatus(err, http.StatusUnauthorized) {
		return clierr.WithHint(err, "the R2 token is an account token: give the API token \"Account API Tokens Edit\" (API name Account API Tokens Write; \"API Tokens Edit\" is for user tokens and does not do), or turn persistence to R2 off in moltctl.yaml")
	}
	return err
}
