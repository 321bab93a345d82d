package wrangler

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the config reader: it must return a
// Config or a *ParseError, never panic.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/moltworker/wrangler.jsonc"); err == nil {
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `{"name": "x",}`, "{\n// c\n\"containers\": [{\"max_instances\": \"1\"}]}",
		`{"routes": ["a.com/*", {"pattern": "b.com/*"}]}`, `{"assets": {"run_worker_first": ["/api/*"]}}`,
		`[`, `{"env": {"a": {"name": 1}}}`, "/* unterminated",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("wrangler.jsonc", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError: %v", err, err)
			}
			return
		}
		for name := range cfg.Env {
			if _, err := cfg.WithEnv(name); err != nil {
				t.Fatalf("WithEnv(%q): %v", name, err)
			}
		}
	})
}
