package preflight

// Standard returns the checks `moltctl doctor` prints and `moltctl deploy`
// runs before building, in display order. IDs are documented in docs/doctor.md.
func Standard() []Check {
	return []Check{
		{ID: IDDocker, Title: "Docker daemon", Run: checkDocker},
		{ID: IDDockerPlatform, Title: "Docker builds linux/amd64", Run: checkDockerPlatform},
		{ID: IDDockerDisk, Title: "Docker free disk", Run: checkDockerDisk},
		{ID: IDToken, Title: "API token", Run: checkToken},
		{ID: IDPermissions, Title: "API token permissions", Run: checkPermissions},
		{ID: IDAccount, Title: "Cloudflare account", Run: checkAccount},
		{ID: IDPlan, Title: "Workers Paid and Containers", Run: checkPlan},
		{ID: IDR2Enabled, Title: "R2 enabled", Run: checkR2Enabled},
		{ID: IDR2Bucket, Title: "R2 bucket", Run: checkR2Bucket},
		{ID: IDSubdomain, Title: "workers.dev subdomain", Run: checkSubdomain},
		{ID: IDAccessOrg, Title: "Zero Trust organization", Run: checkAccessOrg},
		{ID: IDConfig, Title: "wrangler.jsonc", Run: checkConfig},
		{ID: IDDockerfile, Title: "Dockerfile", Run: checkDockerfile},
		{ID: IDLineEndings, Title: "Script line endings", Run: checkLineEndings},
		{ID: IDNode, Title: "Node.js and npm", Run: checkNode},
		{ID: IDBuild, Title: "Build output", Run: checkBuild},
		{ID: IDSecretsManifest, Title: "Secrets manifest", Run: checkSecretsManifest},
		{ID: IDSecretsRemote, Title: "Secrets on the Worker", Run: checkSecretsRemote},
		{ID: IDSecretsSettings, Title: "Settings without effect", Run: checkSecretsSettings},
		{ID: IDAccessApp, Title: "Access protects the Worker", Run: checkAccessApp},
	}
}

// Select returns the checks of all whose ID is in ids, in all's order
// (an empty ids selects all).
func Select(all []Check, ids ...string) []Check {
	if len(ids) == 0 {
		return all
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []Check
	for _, c := range all {
		if want[c.ID] {
			out = append(out, c)
		}
	}
	return out
}
