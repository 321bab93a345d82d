package initcmd

import "testing"

func TestSuggestCommandFitsTheEnvironment(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tt := range []struct {
		env   map[string]string
		email string
		want  string
	}{
		{map[string]string{"ANTHROPIC_API_KEY": "x"}, "me@example.org", "moltctl init --yes --provider anthropic --allow me@example.org"},
		{map[string]string{"OPENAI_API_KEY": "x", "TELEGRAM_BOT_TOKEN": "t", "SLACK_BOT_TOKEN": "b"}, "", "moltctl init --yes --provider openai --channels telegram --allow you@example.com"},
		{map[string]string{"CLOUDFLARE_AI_GATEWAY_API_KEY": "k", "CF_AI_GATEWAY_GATEWAY_ID": "gw"}, "", "moltctl init --yes --provider ai-gateway --ai-gateway-id gw --allow you@example.com"},
	} {
		if got := SuggestCommand(env(tt.env), tt.email); got != tt.want {
			t.Errorf("SuggestCommand(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
