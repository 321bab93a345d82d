// Package templates holds the files `moltctl init` writes: the manifest
// (moltctl.yaml) and the CI workflows that deploy with moltctl. They are
// embedded in the binary, so init works without a checkout of moltctl.
//
// Templates use [[ ]] as delimiters, because GitHub Actions and GitLab CI
// files are full of ${{ }} and ${VAR} of their own.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

// The shell steps the CI templates share.
var (
	//go:embed ci-install.sh
	installScript string
	//go:embed ci-deps.sh
	depsScript string
)

// Names of the embedded templates.
const (
	ManifestTemplate = "moltctl.yaml.tmpl"
	GitHubTemplate   = "github-deploy.yml.tmpl"
	GitLabTemplate   = "gitlab-ci.yml.tmpl"
)

// Secret is one secret entry in the manifest.
type Secret struct {
	// Name is the Worker secret's name, e.g. ANTHROPIC_API_KEY.
	Name string
	// Comment is written above the entry.
	Comment string
	// Source is the YAML flow mapping for its source, e.g. "{env: ANTHROPIC_API_KEY}".
	Source string
}

// ManifestData fills the manifest template.
type ManifestData struct {
	// Schema is the JSON Schema URL editors check the file against.
	Schema   string
	Worker   string
	Provider string
	Secrets  []Secret
	// Vars are plain-text variables, in order.
	Vars         []Var
	Allow        []string
	AllowDomains []string
	R2           bool
	SleepAfter   string
	// SleepCost describes the monthly cost of SleepAfter.
	SleepCost string
}

// Var is a plain-text Worker variable.
type Var struct {
	Name, Value, Comment string
}

// CIData fills the CI templates.
type CIData struct {
	// Worker is the Worker's name, for job names and artifacts.
	Worker string
	// Env is the wrangler environment (--env), or "".
	Env string
	// SecretEnv lists the environment variables the manifest reads,
	// each taken from a repository (or CI/CD) secret of the same name.
	SecretEnv []string
	// Install is the moltctl version to install ("latest" or vX.Y.Z).
	Install string
	// PinNote explains Install when it is not the version that wrote the file.
	PinNote string
	// Unavailable lists secrets read from sources a runner will not have.
	Unavailable []string
}

// Render executes the named template with data.
func Render(name string, data any) ([]byte, error) {
	t, err := template.New(name).Delims("[[", "]]").Funcs(template.FuncMap{
		"quote":   quote,
		"join":    strings.Join,
		"install": func() string { return installScript },
		"deps":    func() string { return depsScript },
		"indent":  indent,
	}).ParseFS(files, name)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, fmt.Errorf("render template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// quote returns s as a double-quoted YAML scalar.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// indent prefixes every non-empty line of s with n spaces and drops the
// final newline, for a script inside a YAML block scalar.
func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}
