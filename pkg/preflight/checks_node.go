package preflight

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IDNode is the check that the build's tools are installed.
const IDNode = "project.node"

// nodeFloor is the oldest Node.js moltworker's build runs on when nothing
// in the project says more: wrangler 4 needs Node 20.
const nodeFloor = 20

// checkNode checks that Node.js and npm are installed, and new enough for
// the build, when the project builds with them. Versions are read from
// files (npm's package.json, Node's node_version.h) where they exist, so
// the check rarely starts a process; it runs beside the others anyway.
func checkNode(ctx context.Context, e *Env) Result {
	if e.Config == nil {
		return Skip("no valid wrangler.jsonc")
	}
	src := e.Config.Source()
	dir := src.Dir()
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		return Skip("the project has no package.json")
	}
	const fix = "install Node.js %d or later, which brings npm: https://nodejs.org/en/download (or your package manager)"
	need, why := nodeRequirement(dir)
	nodePath, err := exec.LookPath("node")
	if err != nil {
		what := "the build"
		if src.Build != nil && src.Build.Command != "" {
			what = src.Build.Command
		}
		return Fail(fmt.Sprintf(fix, need), "node is not installed; %s needs it", what)
	}
	npmPath, err := exec.LookPath("npm")
	if err != nil {
		return Fail(fmt.Sprintf(fix, need), "npm is not installed; moltctl installs the project's dependencies with it")
	}
	nodeV := nodeVersion(ctx, nodePath)
	npmV := npmVersion(npmPath)
	if major, ok := majorOf(nodeV); ok && major < need {
		return Fail(fmt.Sprintf(fix, need), "Node.js %s is too old: %s needs %d or later", nodeV, why, need)
	}
	if nodeV == "" {
		nodeV = "(version unknown)"
	}
	if npmV == "" {
		npmV = "(version unknown)"
	}
	return OK("node %s, npm %s (the build needs Node.js %d+: %s)", strings.TrimPrefix(nodeV, "v"), npmV, need, why)
}

// nodeRequirement is the newest Node.js major that the project and the
// build tools it has installed ask for in "engines".
func nodeRequirement(dir string) (int, string) {
	need, why := nodeFloor, "wrangler 4"
	for _, rel := range []string{"package.json", "node_modules/wrangler/package.json", "node_modules/vite/package.json", "node_modules/@cloudflare/vite-plugin/package.json"} {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			continue
		}
		var p struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Engines struct {
				Node string `json:"node"`
			} `json:"engines"`
		}
		if json.Unmarshal(b, &p) != nil || p.Engines.Node == "" {
			continue
		}
		if m, ok := minMajor(p.Engines.Node); ok && m > need {
			need, why = m, fmt.Sprintf("%s %s (engines %q)", p.Name, p.Version, p.Engines.Node)
		}
	}
	return need, why
}

var firstNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\d+`) })

// minMajor is the lowest major version a semver range such as
// "^18.0.0 || ^20.0.0 || >=22.0.0" or ">=20.0.0" allows.
func minMajor(r string) (int, bool) {
	best, found := 0, false
	for _, alt := range strings.Split(r, "||") {
		n := firstNumber().FindString(alt)
		if n == "" {
			continue
		}
		m, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if !found || m < best {
			best, found = m, true
		}
	}
	return best, found
}

func majorOf(v string) (int, bool) {
	n := firstNumber().FindString(v)
	if n == "" {
		return 0, false
	}
	m, err := strconv.Atoi(n)
	return m, err == nil
}

var nodeHeaderVersion = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#define NODE_(MAJOR|MINOR|PATCH)_VERSION (\d+)`) })

// nodeVersion reads Node's version from the node_version.h installed
// beside it, else asks node (a few tens of milliseconds).
func nodeVersion(ctx context.Context, nodePath string) string {
	if real, err := filepath.EvalSymlinks(nodePath); err == nil {
		h := filepath.Join(filepath.Dir(filepath.Dir(real)), "include", "node", "node_version.h")
		if b, err := os.ReadFile(h); err == nil {
			parts := map[string]string{}
			for _, m := range nodeHeaderVersion().FindAllSubmatch(b, -1) {
				if _, seen := parts[string(m[1])]; !seen {
					parts[string(m[1])] = string(m[2])
				}
			}
			if len(parts) == 3 {
				return parts["MAJOR"] + "." + parts["MINOR"] + "." + parts["PATCH"]
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, nodePath, "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(string(bytes.TrimSpace(out)), "v")
}

// npmVersion reads npm's version from its own package.json (npm's bin is
// a link to lib/node_modules/npm/bin/npm-cli.js).
func npmVersion(npmPath string) string {
	real, err := filepath.EvalSymlinks(npmPath)
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(real)), "package.json"))
	if err != nil {
		return ""
	}
	var p struct {
		Name, Version string
	}
	if json.Unmarshal(b, &p) != nil || p.Name != "npm" {
		return ""
	}
	return p.Version
}
