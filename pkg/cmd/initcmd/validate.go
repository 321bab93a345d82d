package initcmd

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// validateManifest checks the bytes init is about to write.
func validateManifest(path string, content []byte) error {
	var v map[string]any
	if err := yaml.Unmarshal(content, &v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
