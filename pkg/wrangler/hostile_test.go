package wrangler

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deepJSONC is a config whose "vars" nests n arrays.
func deepJSONC(n int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"vars\": ")
	b.Write(bytes.Repeat([]byte("["), n))
	return b.Bytes()
}

func TestParseBoundsDepthAndSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"a million levels", deepJSONC(1_000_000), "wrangler.jsonc:2:74: nested deeper than 64 levels"},
		{"600 KB of nesting", bytes.Repeat([]byte("{\"a\":"), 120_000), "wrangler.jsonc:1:321: nested deeper than 64 levels"},
		{"objects on many lines", bytes.Repeat([]byte("{\"a\":\n"), 70), "wrangler.jsonc:65:1: nested deeper than 64 levels"},
		{"2 MiB", append([]byte(`{"name": "x", "vars": {"A": "`), append(bytes.Repeat([]byte("a"), 2<<20), `"}}`...)...), "wrangler.jsonc: larger than 1024 KiB; a wrangler configuration is a few KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Parse("wrangler.jsonc", tt.data)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.ExitCode() != 2 || err.Error() != tt.want {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestParseDepthIgnoresStringsAndComments(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 100) + strings.Repeat("{", 100)
	src := "{\n  // " + deep + "\n  /* " + deep + " */\n  \"vars\": {\"A\": \"" + deep + "\\\"" + deep + "\"},\n  \"name\": \"x\"\n}"
	cfg, err := Parse("wrangler.jsonc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vars["A"] != deep+`"`+deep {
		t.Fatalf("vars = %v", cfg.Vars)
	}
	// Exactly the limit is fine.
	ok := "{\"vars\": {\"A\": " + strings.Repeat("[", MaxDepth-2) + strings.Repeat("]", MaxDepth-2) + "}}"
	if _, err := Parse("wrangler.jsonc", []byte(ok)); err != nil {
		t.Fatalf("depth %d refused: %v", MaxDepth, err)
	}
}

func TestLoadRefusesLargeFileWithoutReadingIt(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "wrangler.jsonc")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse 1 GiB file: reading it all would take seconds and a GiB.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	_, err = Load(p, "")
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestParseWarnsAboutUnexpectedFields(t *testing.T) {
	t.Parallel()
	src := `{
  "name": "x",
  "contianers": [],
  "containers": [{"class_name": "Sandbox", "image": "./Dockerfile", "instance_typ": "standard-1"}],
  "r2_bucket": [],
  "r2_buckets": [{"binding": "B", "bucket_nme": "b"}],
  "durable_objects": {"bindings": [{"name": "S", "clas_name": "Sandbox"}], "binding": []},
  "kv_namespaces": [], "addresses": [],
  "env": {"staging": {"contianers": [], "addresses": 1, "r2_buckets": [{"binding": "B", "jurisdicton": "eu"}]}}
}`
	cfg, err := Parse("wrangler.jsonc", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`wrangler.jsonc:3:3: Unexpected fields found in top-level field: "contianers" (did you mean "containers"?),"r2_bucket" (did you mean "r2_buckets"?)`,
		`wrangler.jsonc:4:69: Unexpected fields found in containers field: "instance_typ" (did you mean "instance_type"?)`,
		`wrangler.jsonc:6:35: Unexpected fields found in r2_buckets[0] field: "bucket_nme" (did you mean "bucket_name"?)`,
		`wrangler.jsonc:7:76: Unexpected fields found in durable_objects field: "binding" (did you mean "bindings"?)`,
		`wrangler.jsonc:7:50: Unexpected fields found in durable_objects.bindings[0] field: "clas_name" (did you mean "class_name"?)`,
		`wrangler.jsonc:9:23: Unexpected fields found in env.staging field: "contianers" (did you mean "containers"?),"addresses"`,
		`wrangler.jsonc:9:89: Unexpected fields found in r2_buckets[0] field: "jurisdicton" (did you mean "jurisdiction"?)`,
	}
	if got := strings.Join(cfg.Warnings, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("warnings:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	st, err := cfg.WithEnv("staging")
	if err != nil || len(st.Warnings) != len(want) {
		t.Fatalf("environment lost the warnings: %v %v", err, st)
	}
	real, err := Load("testdata/moltworker/wrangler.jsonc", "")
	if err != nil || len(real.Warnings) != 0 {
		t.Fatalf("moltworker's own config warns: %v %v", err, real.Warnings)
	}
}

func TestParseRefusesHostileWorkerNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ src, want string }{
		{`{"name": "../../x"}`, `wrangler.jsonc:1:10: "name" is not a valid Worker name`},
		{`{"name": ".."}`, `wrangler.jsonc:1:10: "name" is not a valid Worker name`},
		{`{"name": "."}`, `wrangler.jsonc:1:10: "name" is not a valid Worker name`},
		{"{\n  \"name\": \"my worker\"}", `wrangler.jsonc:2:11: "name" is not a valid Worker name`},
		{`{"name": "a?b#c"}`, `wrangler.jsonc:1:10: "name" is not a valid Worker name`},
		{`{"name": "a/b"}`, `"name" is not a valid Worker name`},
		{`{"name": "a\\b"}`, `"name" is not a valid Worker name`},
		{`{"name": "Upper"}`, `"name" is not a valid Worker name`},
		{`{"name": "-lead"}`, `"name" is not a valid Worker name`},
		{`{"name": "trail-"}`, `"name" is not a valid Worker name`},
		{`{"name": "a\u0000b"}`, `"name" is not a valid Worker name`},
		{`{"name": "` + strings.Repeat("a", 64) + `"}`, `"name" is not a valid Worker name`},
		{`{"name": "ok", "env": {"prod": {"name": "../p"}}}`, `wrangler.jsonc:1:41: "env.prod.name" is not a valid Worker name`},
		{`{"name": "ok", "env": {"../p": {}}}`, `wrangler.jsonc:1:24: environment "../p" is not a valid environment name`},
		{`{"name": "ok", "env": {"Prod": {"name": "fine"}}}`, `environment "Prod" is not a valid environment name`},
		{`{"name": "` + strings.Repeat("a", 60) + `", "env": {"prod": {}}}`, `its Worker name "` + strings.Repeat("a", 60) + `-prod" is not valid`},
		{`{"name": "ok", "r2_buckets": [{"binding": "B", "bucket_name": "../../x"}]}`, `wrangler.jsonc:1:63: r2_buckets[0].bucket_name is not a valid bucket name`},
		{`{"name": "ok", "r2_buckets": [{"binding": "B", "bucket_name": "ok-1", "preview_bucket_name": "a b"}]}`, `r2_buckets[0].preview_bucket_name is not a valid bucket name`},
		{`{"name": "ok", "env": {"s": {"r2_buckets": [{"binding": "B"}, {"binding": "C", "bucket_name": "x?y"}]}}}`, `env.s.r2_buckets[1].bucket_name is not a valid bucket name`},
	} {
		_, err := Parse("wrangler.jsonc", []byte(tt.src))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.src, err, tt.want)
		}
	}
	for _, ok := range []string{"moltbot-sandbox", "a", "0", "my_worker", "_x", strings.Repeat("a", 63)} {
		if !ValidWorkerName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	cfg, err := Parse("wrangler.jsonc", []byte(`{"name": "x", "env": {"staging": {}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"../x", "a b", "x?y"} {
		if _, err := cfg.WithEnv(env); err == nil || !strings.Contains(err.Error(), "not a valid environment name") {
			t.Errorf("--env %q: %v", env, err)
		}
	}
}
