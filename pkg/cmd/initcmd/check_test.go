package initcmd

import (
	"context"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// sampleValues are well-formed values for every env source init writes.
var sampleValues = map[string]string{
	"ANTHROPIC_API_KEY":             "sk-ant-api03-" + strings.Repeat("a", 93) + "AA",
	"OPENAI_API_KEY":                "sk-proj-" + strings.Repeat("b", 48),
	"CLOUDFLARE_AI_GATEWAY_API_KEY": strings.Repeat("c", 40),
	"TELEGRAM_BOT_TOKEN":            "123456789:AA" + strings.Repeat("d", 33),
	"DISCORD_BOT_TOKEN":             "MTA" + strings.Repeat("e", 21) + "." + strings.Repeat("f", 6) + "." + strings.Repeat("g", 38),
	"SLACK_BOT_TOKEN":               "xoxb-1234567890-1234567890123-" + strings.Repeat("h", 24),
	"SLACK_APP_TOKEN":               "xapp-1-A0123456789-1234567890123-" + strings.Repeat("0", 64),
	"MY_TOOL_KEY":                   "anything",
}

// checkManifest asserts that the manifest init wrote is accepted by the
// code that reads it: it loads, its sources resolve, and the secrets
// check (formats, required names, provider, groups) passes with the
// values deploy obtains counted as pending.
func checkManifest(t *testing.T, path string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Load(path)
	if err != nil {
		t.Fatalf("manifest.Load: %v", err)
	}
	values, err := m.Resolve(context.Background(), manifest.ResolveOptions{
		Getenv:    func(k string) string { return sampleValues[k] },
		Generated: map[string]string{},
	})
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	rep := secrets.Validate(secrets.Input{Secrets: values, Vars: m.Vars, Pending: m.DeployNames()})
	if err := rep.Err(); err != nil {
		t.Fatalf("secrets check: %v", err)
	}
	return m
}
