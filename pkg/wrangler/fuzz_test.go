package wrangler

import (
	"bytes"
	"errors"
	"os"
	"strings"
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
	// Large and deep inputs, built here rather than stored: the fuzzer
	// mutates them around the depth and size limits.
	f.Add(deepJSONC(MaxDepth))
	f.Add(deepJSONC(100_000))
	f.Add(bytes.Repeat([]byte(`{"a":`), 120_000))
	f.Add([]byte("{\"vars\": {\"A\": \"" + strings.Repeat("[", 200) + "\"}, // " + strings.Repeat("{", 200) + "\n}"))
	f.Add([]byte(`{"name": "../../x", "contianers": [], "env": {"a b": {}}}`))
	f.Add(append([]byte(`{"vars": {"A": "`), bytes.Repeat([]byte("x"), MaxFileSize)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("wrangler.jsonc", data)
		if err == nil && cfg.Name != "" && !ValidWorkerName(cfg.Name) {
			t.Fatalf("invalid name %q accepted", cfg.Name)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError: %v", err, err)
			}
			return
		}
		for name := range cfg.Env {
			e, err := cfg.WithEnv(name)
			if err != nil {
				t.Fatalf("WithEnv(%q): %v", name, err)
			}
			if e.Name != "" && !ValidWorkerName(e.Name) {
				t.Fatalf("environment %q has invalid name %q", name, e.Name)
			}
		}
	})
}
