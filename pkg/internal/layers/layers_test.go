// Package layers checks the import rules of docs/architecture.md: commands
// sit above libraries, libraries never import the command layer, one
// command never imports another, and the shipped binary links no emulator.
package layers

import (
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

const module = "github.com/moltctl/moltctl"

// goList runs go list with a template printing one line per package.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	// go list reads the sources in its own process: without this, a cached
	// pass would outlive an import that breaks the rules.
	testenv.TrackModule(t)
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// commandGroup returns "deploy" for pkg/cmd/deploy and "secrets" for
// pkg/cmd/secrets/set, or "" outside the command layer.
func commandGroup(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, "pkg/cmd/")
	if !ok {
		return ""
	}
	group, _, _ := strings.Cut(rest, "/")
	return group
}

// composers are the commands made of other commands: root builds the tree,
// launch runs init, doctor, deploy and devices approve in turn.
var composers = map[string]bool{"root": true, "launch": true}

// violation says what is wrong with pkg importing imp, or "". A test may
// drive several commands (secrets set, then status), but not lean on the
// command layer from a library.
func violation(pkg, imp string, test bool) string {
	from, to := commandGroup(pkg), commandGroup(imp)
	// Programs (cmd/, bench) and root wire the layers together.
	program := strings.HasPrefix(pkg, "cmd/") || pkg == "bench" || strings.HasPrefix(pkg, "bench/")
	switch {
	case program:
		return ""
	case from == "" && (imp == "pkg/cmdutil" || to != ""):
		return "a library imports the command layer"
	case !test && from != "" && to != "" && from != to && !composers[from] && to != "internal":
		return "a command imports another command"
	}
	return ""
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	lines := goList(t, "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .TestImports " "}} {{join .XTestImports " "}}`, module+"/...")
	var bad []string
	for _, line := range lines {
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			t.Fatalf("go list printed %q", line)
		}
		pkg := strings.TrimPrefix(parts[0], module+"/")
		for i, imports := range parts[1:] {
			for _, imp := range strings.Fields(imports) {
				imp, ok := strings.CutPrefix(imp, module+"/")
				if !ok {
					continue
				}
				if why := violation(pkg, imp, i == 1); why != "" {
					bad = append(bad, pkg+" imports "+imp+": "+why)
				}
			}
		}
	}
	sort.Strings(bad)
	for _, b := range slicesCompact(bad) {
		t.Error(b)
	}
}

func slicesCompact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestViolation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pkg, imp string
		test     bool
		bad      bool
	}{
		{"pkg/deploy", "pkg/clierr", false, false},
		{"pkg/deploy", "pkg/cmdutil", false, true},
		{"pkg/preflight", "pkg/cmd/doctor", false, true},
		{"pkg/cmd/deploy", "pkg/cmd/doctor", false, true},
		{"pkg/cmd/push", "pkg/cmd/build", false, true},
		{"pkg/cmd/deploy", "pkg/cmdutil", false, false},
		{"pkg/cmd/secrets", "pkg/cmd/secrets/set", false, false},
		{"pkg/cmd/secrets/set", "pkg/cmd/secrets/shared", false, false},
		{"pkg/cmd/root", "pkg/cmd/deploy", false, false},
		{"pkg/cmd/launch", "pkg/cmd/deploy", false, false},
		{"pkg/cmd/status", "pkg/cmd/internal/opstest", false, false},
		{"pkg/cmd/build", "pkg/cmd/root", true, false},
		{"pkg/cmd/status", "pkg/cmd/secrets/set", true, false},
		{"pkg/deploy", "pkg/cmdutil", true, true},
		{"cmd/moltctl", "pkg/cmd/root", false, false},
		{"bench", "pkg/cmdutil", false, false},
	}
	for _, tt := range tests {
		if got := violation(tt.pkg, tt.imp, tt.test) != ""; got != tt.bad {
			t.Errorf("violation(%q, %q, test %v) = %v, want %v", tt.pkg, tt.imp, tt.test, got, tt.bad)
		}
	}
}

// TestShippedBinaryLinksNoEmulator keeps cfemu, a test double, out of moltctl.
func TestShippedBinaryLinksNoEmulator(t *testing.T) {
	t.Parallel()
	for _, dep := range goList(t, "-deps", module+"/cmd/moltctl") {
		if dep == module+"/pkg/cfemu" || strings.HasPrefix(dep, module+"/pkg/cfemu/") {
			t.Errorf("cmd/moltctl links %s", dep)
		}
	}
}
