package secrets

import "sort"

// Requirement says when moltworker needs a name.
type Requirement int

const (
	// Optional names are read when present.
	Optional Requirement = iota
	// Required names must always be set (MOLTBOT_GATEWAY_TOKEN).
	Required
	// RequiredUnlessTestMode names are required unless DEV_MODE or
	// E2E_TEST_MODE is "true" (the Access pair).
	RequiredUnlessTestMode
)

// Spec describes one name moltworker reads from its environment.
type Spec struct {
	Name string
	Kind *Kind
	// Secret is true for credentials, which must never be written under
	// vars; false for identifiers and settings, which may be (plain_text
	// bindings) or may be sent as secrets.
	Secret   bool
	Required Requirement
	// FromDeploy is true when moltctl deploy can obtain the value from
	// Cloudflare (source `deploy` in moltctl.yaml).
	FromDeploy bool
	// Summary is one line for help and docs.
	Summary string
	// Ineffective, when set, explains why setting the name has no effect.
	Ineffective string
}

var catalogue = []Spec{
	{Name: "MOLTBOT_GATEWAY_TOKEN", Kind: KindGatewayToken, Secret: true, Required: Required,
		Summary: "token for the Control UI and gateway (passed to the container as OPENCLAW_GATEWAY_TOKEN)"},
	{Name: "CF_ACCESS_TEAM_DOMAIN", Kind: KindTeamDomain, Required: RequiredUnlessTestMode, FromDeploy: true,
		Summary: "Cloudflare Access team domain the Worker verifies JWTs against"},
	{Name: "CF_ACCESS_AUD", Kind: KindAccessAUD, Secret: true, Required: RequiredUnlessTestMode, FromDeploy: true,
		Summary: "audience tag of the Access application protecting the Worker"},
	{Name: "ANTHROPIC_API_KEY", Kind: KindAnthropicKey, Secret: true, Summary: "Anthropic API key"},
	{Name: "ANTHROPIC_BASE_URL", Kind: KindURL, Summary: "Anthropic API base URL (ignored with the legacy AI Gateway pair)"},
	{Name: "OPENAI_API_KEY", Kind: KindOpenAIKey, Secret: true, Summary: "OpenAI API key"},
	{Name: "CLOUDFLARE_AI_GATEWAY_API_KEY", Kind: KindAPIKey, Secret: true, Summary: "API key for requests through Cloudflare AI Gateway"},
	{Name: "CF_AI_GATEWAY_ACCOUNT_ID", Kind: KindAccountID, Summary: "account that runs the AI Gateway"},
	{Name: "CF_AI_GATEWAY_GATEWAY_ID", Kind: KindGatewayID, Summary: "AI Gateway ID"},
	{Name: "CF_AI_GATEWAY_MODEL", Kind: KindModel, Summary: "model override, provider/model-id"},
	{Name: "AI_GATEWAY_API_KEY", Kind: KindAPIKey, Secret: true, Summary: "legacy AI Gateway: the provider's API key"},
	{Name: "AI_GATEWAY_BASE_URL", Kind: KindURL, Summary: "legacy AI Gateway: the gateway's base URL"},
	{Name: "R2_ACCESS_KEY_ID", Kind: KindR2KeyID, Secret: true, FromDeploy: true, Summary: "R2 S3 access key ID for persistence"},
	{Name: "R2_SECRET_ACCESS_KEY", Kind: KindR2Secret, Secret: true, FromDeploy: true, Summary: "R2 S3 secret access key for persistence"},
	{Name: "CF_ACCOUNT_ID", Kind: KindAccountID, FromDeploy: true, Summary: "account ID for the R2 endpoint"},
	{Name: "R2_BUCKET_NAME", Kind: KindBucketName, FromDeploy: true, Summary: "R2 bucket for persistence (default moltbot-data)"},
	{Name: "SANDBOX_SLEEP_AFTER", Kind: KindDuration, Summary: "container sleep policy: never (default) or a duration"},
	{Name: "DEV_MODE", Kind: KindBoolean, Summary: "local development only: skips Access and device pairing"},
	{Name: "E2E_TEST_MODE", Kind: KindBoolean, Summary: "tests only: skips Access JWT validation"},
	{Name: "DEBUG_ROUTES", Kind: KindBoolean, Summary: "enables /debug/* routes"},
	{Name: "TELEGRAM_BOT_TOKEN", Kind: KindTelegramToken, Secret: true, Summary: "Telegram bot token"},
	{Name: "TELEGRAM_DM_POLICY", Kind: KindDMPolicy, Summary: "Telegram DM policy"},
	{Name: "TELEGRAM_DM_ALLOW_FROM", Kind: KindList, Summary: "Telegram DM allow list",
		Ineffective: "moltworker does not pass TELEGRAM_DM_ALLOW_FROM to the container, so setting it has no effect"},
	{Name: "DISCORD_BOT_TOKEN", Kind: KindDiscordToken, Secret: true, Summary: "Discord bot token"},
	{Name: "DISCORD_DM_POLICY", Kind: KindDMPolicy, Summary: "Discord DM policy"},
	{Name: "SLACK_BOT_TOKEN", Kind: KindSlackBotToken, Secret: true, Summary: "Slack bot token"},
	{Name: "SLACK_APP_TOKEN", Kind: KindSlackAppToken, Secret: true, Summary: "Slack app-level token (Socket Mode)"},
	{Name: "CDP_SECRET", Kind: KindSharedSecret, Secret: true, Summary: "shared secret for the /cdp browser endpoint (enough on its own)"},
	{Name: "WORKER_URL", Kind: KindURL, FromDeploy: true,
		Summary: "the Worker's public URL, for the cloudflare-browser skill; moltctl deploy sets it from the deploy URL when CDP_SECRET is set"},
	// Read by moltworker builds with PR #298 (cloudflare/moltworker), which
	// sends it as cf-aig-authorization to an Authenticated AI Gateway.
	{Name: "CF_AIG_TOKEN", Kind: KindAPIKey, Secret: true, Summary: "AI Gateway authentication token (Authenticated Gateway, BYOK)"},
}

var byName = func() map[string]*Spec {
	m := make(map[string]*Spec, len(catalogue))
	for i := range catalogue {
		m[catalogue[i].Name] = &catalogue[i]
	}
	return m
}()

// Catalogue returns every name moltworker reads, in a stable order.
func Catalogue() []Spec { return append([]Spec(nil), catalogue...) }

// Lookup returns the spec for name.
func Lookup(name string) (Spec, bool) {
	s, ok := byName[name]
	if !ok {
		return Spec{}, false
	}
	return *s, true
}

// KindOf returns name's kind, KindAny for names outside the catalogue.
func KindOf(name string) *Kind {
	if s, ok := byName[name]; ok {
		return s.Kind
	}
	return KindAny
}

// DeployNames are the names moltctl deploy can obtain from Cloudflare.
func DeployNames() []string {
	var out []string
	for _, s := range catalogue {
		if s.FromDeploy {
			out = append(out, s.Name)
		}
	}
	return out
}

// Group is a set of names that go together.
type Group struct {
	ID    string
	Names []string
	// Purpose reads after "for": "Cloudflare AI Gateway".
	Purpose string
}

// Groups whose members must all be set, or none. (R2 persistence is
// triggered by the two R2 keys; CF_ACCOUNT_ID alone is also used by
// CF_AI_GATEWAY_MODEL.)
var (
	GroupAIGateway       = Group{ID: "ai-gateway", Purpose: "Cloudflare AI Gateway", Names: []string{"CLOUDFLARE_AI_GATEWAY_API_KEY", "CF_AI_GATEWAY_ACCOUNT_ID", "CF_AI_GATEWAY_GATEWAY_ID"}}
	GroupLegacyAIGateway = Group{ID: "legacy-ai-gateway", Purpose: "the legacy AI Gateway", Names: []string{"AI_GATEWAY_API_KEY", "AI_GATEWAY_BASE_URL"}}
	GroupR2              = Group{ID: "r2", Purpose: "R2 persistence", Names: []string{"R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "CF_ACCOUNT_ID"}}
	GroupAccess          = Group{ID: "access", Purpose: "Cloudflare Access", Names: []string{"CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"}}
	GroupSlack           = Group{ID: "slack", Purpose: "Slack", Names: []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"}}
)

// Groups lists the all-or-none groups.
func Groups() []Group {
	return []Group{GroupAIGateway, GroupLegacyAIGateway, GroupR2, GroupAccess, GroupSlack}
}

// ProviderChoices are the ways to configure an AI provider; at least one
// must be complete.
func ProviderChoices() [][]string {
	return [][]string{{"ANTHROPIC_API_KEY"}, {"OPENAI_API_KEY"}, GroupAIGateway.Names, GroupLegacyAIGateway.Names}
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
