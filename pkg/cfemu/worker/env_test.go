package worker

import (
	"strings"
	"testing"
)

// TestMissingEnv is moltworker's validateRequiredEnv.
func TestMissingEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets map[string]string
		missing []string
	}{
		{"nothing set", map[string]string{}, []string{"MOLTBOT_GATEWAY_TOKEN", "CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD",
			"ANTHROPIC_API_KEY, OPENAI_API_KEY, or CLOUDFLARE_AI_GATEWAY_API_KEY + CF_AI_GATEWAY_ACCOUNT_ID + CF_AI_GATEWAY_GATEWAY_ID"}},
		{"test mode skips Access", map[string]string{"E2E_TEST_MODE": "true", "OPENAI_API_KEY": "k"}, []string{"MOLTBOT_GATEWAY_TOKEN"}},
		{"partial AI gateway", map[string]string{"DEV_MODE": "false", "MOLTBOT_GATEWAY_TOKEN": "t", "CF_ACCESS_TEAM_DOMAIN": "a", "CF_ACCESS_AUD": "b",
			"CLOUDFLARE_AI_GATEWAY_API_KEY": "k", "CF_AI_GATEWAY_ACCOUNT_ID": "a"},
			[]string{"ANTHROPIC_API_KEY, OPENAI_API_KEY, or CLOUDFLARE_AI_GATEWAY_API_KEY + CF_AI_GATEWAY_ACCOUNT_ID + CF_AI_GATEWAY_GATEWAY_ID"}},
		{"complete", map[string]string{"MOLTBOT_GATEWAY_TOKEN": "t", "CF_ACCESS_TEAM_DOMAIN": "a", "CF_ACCESS_AUD": "b", "AI_GATEWAY_API_KEY": "k", "AI_GATEWAY_BASE_URL": "u"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := missingEnv(tt.secrets)
			if strings.Join(got, "|") != strings.Join(tt.missing, "|") {
				t.Errorf("missing = %q, want %q", got, tt.missing)
			}
		})
	}
}
