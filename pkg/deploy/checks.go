package deploy

import "github.com/moltctl/moltctl/pkg/preflight"

// repairedByDeploy are the checks whose failure the deploy itself repairs
// (the bucket, the Worker's secrets, the Access application, a stale build).
var repairedByDeploy = map[string]bool{
	preflight.IDR2Bucket: true, preflight.IDSecretsRemote: true, preflight.IDAccessApp: true, preflight.IDBuild: true,
}

// blocks reports whether c failed in a way the deploy cannot repair itself.
func blocks(c preflight.Outcome) bool {
	return c.Status == preflight.StatusFail && !repairedByDeploy[c.ID]
}

// Blockers returns the IDs of the checks in r that stop a deploy.
func Blockers(r *preflight.Report) []string {
	var ids []string
	for _, c := range r.Checks {
		if blocks(c) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// Fixes returns the automatic fixes for the checks of r that block a
// deploy, or none if any blocker needs a person: a deploy fixes what
// blocks it only when that clears every blocker. A permanent fix
// (registering the workers.dev name) counts as one only when permanent is
// allowed (--yes, or the confirmation on a terminal that lists it).
func Fixes(r *preflight.Report, permanent bool) []preflight.Outcome {
	var fixes []preflight.Outcome
	for _, c := range r.Checks {
		if !blocks(c) {
			continue
		}
		if c.Action == nil || (c.Action.Permanent && !permanent) {
			return nil
		}
		fixes = append(fixes, c)
	}
	return fixes
}
