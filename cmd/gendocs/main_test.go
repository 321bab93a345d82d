package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsUpToDate fails when docs/ differs from what `make docs` would
// write, so a changed command or catalogue cannot ship with stale docs.
func TestDocsUpToDate(t *testing.T) {
	t.Parallel()
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	stale, err := Stale(filepath.Join("..", "..", "docs"), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Errorf("stale generated docs (run `make docs` and commit): %s", strings.Join(stale, ", "))
	}
}

func TestGenerateCoversTree(t *testing.T) {
	t.Parallel()
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"commands/moltctl.md", "commands/moltctl_init.md", "commands/moltctl_deploy.md",
		"commands/moltctl_doctor.md", "commands/moltctl_completion.md", "secrets-reference.md"} {
		if files[name] == nil {
			t.Errorf("%s not generated", name)
		}
	}
	ref := string(files["secrets-reference.md"])
	for _, n := range []string{"MOLTBOT_GATEWAY_TOKEN", "CF_ACCESS_AUD", "SANDBOX_SLEEP_AFTER", "TELEGRAM_DM_ALLOW_FROM"} {
		if !strings.Contains(ref, "`"+n+"`") {
			t.Errorf("secrets reference lacks %s", n)
		}
	}
	if strings.Contains(string(files["commands/moltctl_init.md"]), "Auto generated") {
		t.Error("generated docs carry a date stamp")
	}
}

// TestStaleFindsChangesAndLeftovers checks the checker itself.
func TestStaleFindsChangesAndLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string][]byte{"commands/a.md": []byte("a\n"), "ref.md": []byte("r\n")}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if s, _ := Stale(dir, files); len(s) != 0 {
		t.Fatalf("fresh docs reported stale: %v", s)
	}
	if err := os.WriteFile(filepath.Join(dir, "ref.md"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "commands", "gone.md"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := Stale(dir, files)
	if strings.Join(s, ",") != "ref.md,commands/gone.md" {
		t.Errorf("stale = %v", s)
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "commands", "gone.md")); !os.IsNotExist(err) {
		t.Error("Write kept a leftover")
	}
}

// TestJSONFieldsSnakeCase: every JSON name of every output is snake_case,
// the one spelling moltctl's outputs use.
func TestJSONFieldsSnakeCase(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile("(?m)^\\| `([^`]*)` \\|")
	names := re.FindAllStringSubmatch(string(jsonFields()), -1)
	if len(names) < 100 {
		t.Fatalf("only %d fields documented", len(names))
	}
	ok := regexp.MustCompile(`^[a-z0-9_]+((\[\]|\.\*)?\.[a-z0-9_]+)*$`)
	for _, m := range names {
		if !ok.MatchString(m[1]) {
			t.Errorf("JSON name %q is not snake_case", m[1])
		}
	}
}
