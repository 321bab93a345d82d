package templates

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestRenderManifestIsYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data ManifestData
		want []string
	}{
		{"anthropic with allow list", ManifestData{
			Worker:  "moltbot-sandbox",
			Secrets: []Secret{{Name: "ANTHROPIC_API_KEY", Comment: "AI provider", Source: "{env: ANTHROPIC_API_KEY}"}},
			Vars:    []Var{{Name: "SANDBOX_SLEEP_AFTER", Value: "10m"}},
			Allow:   []string{"me@example.com"}, R2: true,
		}, []string{"ANTHROPIC_API_KEY", "me@example.com", "r2: true", `SANDBOX_SLEEP_AFTER: "10m"`}},
		{"domains only, no r2", ManifestData{
			Worker:       "w",
			AllowDomains: []string{"example.com"},
		}, []string{"allow: []", `- "example.com"`, "r2: false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := Render(ManifestTemplate, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := yaml.Unmarshal(out, &v); err != nil {
				t.Fatalf("not YAML: %v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
		})
	}
}

func TestRenderCIIsYAML(t *testing.T) {
	t.Parallel()
	for _, name := range []string{GitHubTemplate, GitLabTemplate} {
		for _, env := range []string{"", "staging"} {
			t.Run(name+"/"+env, func(t *testing.T) {
				t.Parallel()
				out, err := Render(name, CIData{Worker: "moltbot-sandbox", Env: env, Install: "latest",
					SecretEnv: []string{"ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN"}})
				if err != nil {
					t.Fatal(err)
				}
				var v map[string]any
				if err := yaml.Unmarshal(out, &v); err != nil {
					t.Fatalf("not YAML: %v\n%s", err, out)
				}
				s := string(out)
				for _, w := range []string{"moltctl deploy --yes --skip-build", "--output json", "deploy.json", "TELEGRAM_BOT_TOKEN",
					"MOLTCTL_AGE_KEY", "moltctl ci setup", "sha256sum -c", "releases/download/", "npm ci --no-audit --no-fund || npm install"} {
					if !strings.Contains(s, w) {
						t.Errorf("missing %q", w)
					}
				}
				if env != "" && !strings.Contains(s, "--env "+env) {
					t.Errorf("missing --env %s", env)
				}
				if name == GitHubTemplate {
					jobs := v["jobs"].(map[string]any)
					if _, ok := jobs["build"]; !ok {
						t.Error("no build job")
					}
					dep := jobs["deploy"].(map[string]any)
					if dep["needs"] != "build" {
						t.Errorf("deploy needs = %v", dep["needs"])
					}
					if !strings.Contains(s, "${{ secrets.ANTHROPIC_API_KEY }}") {
						t.Error("provider key not taken from repository secrets")
					}
				}
			})
		}
	}
}

// The workflows install the release moltctl wrote them for, checked, and
// never build it or install dependencies blindly; what a runner lacks is named.
func TestCIInstallsThePinnedRelease(t *testing.T) {
	t.Parallel()
	for _, name := range []string{GitHubTemplate, GitLabTemplate} {
		out, err := Render(name, CIData{Worker: "w", Install: "v1.4.2", SecretEnv: []string{"ANTHROPIC_API_KEY"},
			Unavailable: []string{"TELEGRAM_BOT_TOKEN (dotenv source, moltctl.yaml:5)"}, PinNote: "pinned because"})
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, bad := range []string{"go install", "setup-go", "\n      - run: npm ci", "cache: npm"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s: has %q", name, bad)
			}
		}
		for _, w := range []string{"MOLTCTL_VERSION: v1.4.2", "TELEGRAM_BOT_TOKEN (dotenv source", "# pinned because"} {
			if !strings.Contains(s, w) {
				t.Errorf("%s: missing %q", name, w)
			}
		}
		var v map[string]any
		if err := yaml.Unmarshal(out, &v); err != nil {
			t.Fatalf("%s: not YAML: %v", name, err)
		}
	}
}
