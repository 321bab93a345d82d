package initcmd

import (
	"github.com/moltctl/moltctl/pkg/manifest"
)

// validateManifest parses the bytes init is about to write exactly as
// every other command will read them.
func validateManifest(path string, content []byte) error {
	_, err := manifest.Parse(path, content)
	return err
}
