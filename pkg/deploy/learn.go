package deploy

import (
	"context"
)

// learn works out, before any step is asked whether it has something to
// do, the values both the steps' Skip and Run need: the image to deploy
// when nothing is built, the Worker's URL, and the ids and values the
// saved state holds (a step that runs replaces them with what it made).
// It reads the workers.dev subdomain and nothing else; an account without
// one yet (preflight may register it) leaves the URL to the route step.
// Its error is the subdomain's, for callers that cannot go on without it.
func (st *State) learn(ctx context.Context) error {
	in, dep, l := &st.In, st.Saved.Dep, &st.Learned
	if l.Details == nil {
		l.Details = map[string]string{}
	}
	if st.Deps.Reads == nil {
		st.Deps.Reads = &Reads{}
	}
	if l.ImageRef == "" {
		l.ImageRef = dep.Image.Ref
		if ct, ok := in.container(); ok {
			switch {
			case in.Options.SkipBuild:
				l.ImageRef = in.Options.Image
			case !isDockerfile(ct.Image):
				l.ImageRef = ct.Image
			}
		}
	}
	if l.NamespaceID == "" {
		l.NamespaceID = dep.Worker.DurableObjectNamespaceID
	}
	if l.VersionID == "" {
		l.VersionID = dep.Worker.VersionID
	}
	if l.DeployValues == nil {
		l.DeployValues = map[string]string{}
	}
	// What the access and R2 steps hand the secrets step, as the saved
	// state has it; their Skip says so only when Cloudflare agrees.
	setIfEmpty := func(k, v string) {
		if _, ok := l.DeployValues[k]; !ok && v != "" {
			l.DeployValues[k] = v
		}
	}
	setIfEmpty("CF_ACCESS_AUD", dep.Access.AUD)
	setIfEmpty("CF_ACCESS_TEAM_DOMAIN", dep.Access.TeamDomain)
	if in.wantsR2() {
		if !st.Saved.locked() {
			setIfEmpty(credR2KeyID, st.Saved.Creds.Generated[credR2KeyID])
			setIfEmpty(credR2Secret, st.Saved.Creds.Generated[credR2Secret])
		}
		setIfEmpty("CF_ACCOUNT_ID", in.AccountID)
		setIfEmpty("R2_BUCKET_NAME", in.bucketName())
	}
	if l.URL != "" || st.Deps.API == nil {
		return nil
	}
	sub, err := st.lookupSubdomain(ctx)
	if err != nil {
		return err
	}
	st.setSubdomain(sub)
	return nil
}

// setSubdomain records the account's workers.dev subdomain and the URL it
// gives the Worker.
func (st *State) setSubdomain(sub string) {
	st.Learned.Subdomain = sub
	st.Learned.URL = st.Deps.WorkersDevURL(st.WorkerName(), sub)
	st.Saved.Dep.Subdomain, st.Saved.Dep.URL = sub, st.Learned.URL
}
