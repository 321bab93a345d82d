package manifest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/secrets"
)

// TestDocsCoverCatalogue keeps docs/moltctl.schema.json and
// docs/manifest.md in step with the catalogue.
func TestDocsCoverCatalogue(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/moltctl.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Secrets struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"secrets"`
			Vars struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"vars"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/manifest.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets.Catalogue() {
		if _, ok := schema.Properties.Secrets.Properties[s.Name]; !ok {
			t.Errorf("schema: secrets lacks %s", s.Name)
		}
		if _, ok := schema.Properties.Vars.Properties[s.Name]; ok == s.Secret {
			t.Errorf("schema: vars and %s disagree on whether it is a credential", s.Name)
		}
		if !strings.Contains(string(doc), "`"+s.Name+"`") {
			t.Errorf("docs/manifest.md does not describe %s", s.Name)
		}
	}
	if !strings.Contains(Header, SchemaURL) {
		t.Fatal("header lacks the schema URL")
	}
}
