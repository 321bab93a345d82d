package initcmd

import (
	"context"
	"strings"

	"github.com/moltctl/moltctl/pkg/cmdutil"
)

// Run runs init as `moltctl init` without flags would: the form on a
// terminal. deploy offers it when a project has no moltctl.yaml.
func Run(ctx context.Context, f *cmdutil.Factory) error {
	// deploy runs the doctor checks itself next.
	return initRun(ctx, &InitOptions{IO: f.IOStreams, Factory: f, R2: true, SkipDoctor: true, Set: map[string]bool{}})
}

// SuggestCommand is the `moltctl init --yes …` that fits what the
// environment holds: the provider whose key is set, the channels whose
// tokens are set, the AI Gateway's IDs, and allow, whose value only the
// user knows (email is used when given, e.g. from git's user.email).
func SuggestCommand(getenv func(string) string, email string) string {
	has := func(names ...string) bool {
		for _, n := range names {
			if getenv(n) == "" {
				return false
			}
		}
		return true
	}
	parts := []string{"moltctl init --yes"}
	switch {
	case has("ANTHROPIC_API_KEY"):
		parts = append(parts, "--provider "+ProviderAnthropic)
	case has("OPENAI_API_KEY"):
		parts = append(parts, "--provider "+ProviderOpenAI)
	case has("CLOUDFLARE_AI_GATEWAY_API_KEY"):
		parts = append(parts, "--provider "+ProviderGateway)
		if id := getenv("CF_AI_GATEWAY_ACCOUNT_ID"); id != "" {
			parts = append(parts, "--ai-gateway-account-id "+id)
		}
		id := getenv("CF_AI_GATEWAY_GATEWAY_ID")
		if id == "" {
			id = "<gateway-id>"
		}
		parts = append(parts, "--ai-gateway-id "+id)
	default:
		parts = append(parts, "--provider anthropic")
	}
	var channels []string
	if has("TELEGRAM_BOT_TOKEN") {
		channels = append(channels, "telegram")
	}
	if has("DISCORD_BOT_TOKEN") {
		channels = append(channels, "discord")
	}
	if has("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN") {
		channels = append(channels, "slack")
	}
	if len(channels) > 0 {
		parts = append(parts, "--channels "+strings.Join(channels, ","))
	}
	if email == "" || strings.ContainsAny(email, " \t'\"") {
		email = "you@example.com"
	}
	parts = append(parts, "--allow "+email)
	return strings.Join(parts, " ")
}
