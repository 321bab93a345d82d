package deploy

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/preflight"
	"github.com/moltctl/moltctl/pkg/state"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

// Load reads moltctl.yaml beside cfg (in dir when there is no config) and
// the local copy of the deployment state, for the checks. It creates
// nothing: doctor may run in a checkout that never deployed.
func Load(cfg *wrangler.Config, cfgErr error, dir string) preflight.Project {
	p := preflight.Project{Config: cfg, ConfigErr: cfgErr}
	if cfg != nil {
		dir = cfg.ProjectDir()
	}
	p.Manifest, p.ManifestErr = manifest.Load(manifest.Path(dir))
	if errors.Is(p.ManifestErr, manifest.ErrNotFound) {
		p.Manifest, p.ManifestErr = nil, nil
	}
	if cfg != nil && cfg.Name != "" {
		p.State, p.StateKey = loadLocalState(dir, cfg.Name)
	}
	return p
}

// loadLocalState reads the local state without creating anything when the
// project was never deployed from here.
func loadLocalState(projectDir, worker string) (*state.Deployment, []byte) {
	if _, err := os.Stat(filepath.Join(projectDir, state.DirName, worker, "state.json")); err != nil {
		return nil, nil
	}
	st, err := state.Open(projectDir, worker)
	if err != nil {
		return nil, nil
	}
	d, err := st.Load()
	if err != nil {
		return nil, nil
	}
	var key []byte
	if _, err := os.Stat(filepath.Join(projectDir, state.DirName, "hmac.key")); err == nil {
		key, _ = st.HMACKey()
	}
	return d, key
}
