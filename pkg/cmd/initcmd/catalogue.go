package initcmd

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Providers are the AI providers init offers, in the order moltworker
// prefers them when several are configured (start-openclaw.sh onboards the
// AI Gateway first, then Anthropic, then OpenAI).
const (
	ProviderAnthropic = "anthropic"
	ProviderOpenAI    = "openai"
	ProviderGateway   = "ai-gateway"
)

// Chat channels init offers.
const (
	ChannelTelegram = "telegram"
	ChannelDiscord  = "discord"
	ChannelSlack    = "slack"
)

var providerNames = []string{ProviderAnthropic, ProviderOpenAI, ProviderGateway}
var channelNames = []string{ChannelTelegram, ChannelDiscord, ChannelSlack}

// providerLabel is what the form shows for each provider.
var providerLabel = map[string]string{
	ProviderAnthropic: "Anthropic (ANTHROPIC_API_KEY)",
	ProviderOpenAI:    "OpenAI (OPENAI_API_KEY)",
	ProviderGateway:   "Cloudflare AI Gateway (API key, account ID, gateway ID)",
}

var channelLabel = map[string]string{
	ChannelTelegram: "Telegram (TELEGRAM_BOT_TOKEN)",
	ChannelDiscord:  "Discord (DISCORD_BOT_TOKEN)",
	ChannelSlack:    "Slack (SLACK_BOT_TOKEN and SLACK_APP_TOKEN)",
}

// providerSecrets are the secrets each provider reads from the environment
// at deploy time.
var providerSecrets = map[string][]string{
	ProviderAnthropic: {"ANTHROPIC_API_KEY"},
	ProviderOpenAI:    {"OPENAI_API_KEY"},
	ProviderGateway:   {"CLOUDFLARE_AI_GATEWAY_API_KEY"},
}

// gatewayIDs are the two AI Gateway values that are identifiers, not
// credentials; init writes them as they were answered.
var gatewayIDs = []string{"CF_AI_GATEWAY_ACCOUNT_ID", "CF_AI_GATEWAY_GATEWAY_ID"}

var channelSecrets = map[string][]string{
	ChannelTelegram: {"TELEGRAM_BOT_TOKEN"},
	ChannelDiscord:  {"DISCORD_BOT_TOKEN"},
	ChannelSlack:    {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"},
}

// Secrets moltctl deploy sets from what it creates on Cloudflare.
var accessDeploySecrets = []string{"CF_ACCESS_TEAM_DOMAIN", "CF_ACCESS_AUD"}
var r2DeploySecrets = []string{"R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "CF_ACCOUNT_ID", "R2_BUCKET_NAME"}

// gatewayTokenSecret is generated once by moltctl.
const gatewayTokenSecret = "MOLTBOT_GATEWAY_TOKEN"

// sleepVar is moltworker's container sleep policy.
const sleepVar = "SANDBOX_SLEEP_AFTER"

// managedSecrets is every secret name init adds or removes. Entries with
// other names in an existing manifest are never touched.
func managedSecrets() map[string]bool {
	m := map[string]bool{gatewayTokenSecret: true}
	for _, l := range [][]string{accessDeploySecrets, r2DeploySecrets, gatewayIDs} {
		for _, n := range l {
			m[n] = true
		}
	}
	for _, l := range providerSecrets {
		for _, n := range l {
			m[n] = true
		}
	}
	for _, l := range channelSecrets {
		for _, n := range l {
			m[n] = true
		}
	}
	return m
}

// Answers are everything init asks. They map one to one onto moltctl.yaml.
type Answers struct {
	Provider         string   `json:"provider"`
	GatewayAccountID string   `json:"ai_gateway_account_id,omitempty"`
	GatewayID        string   `json:"ai_gateway_id,omitempty"`
	Channels         []string `json:"channels"`
	R2               bool     `json:"r2"`
	Allow            []string `json:"allow"`
	AllowDomains     []string `json:"allow_domains"`
	SleepAfter       string   `json:"sleep_after"`
}

// EnvSecrets lists the environment variables the manifest will read for
// these answers: the provider's key and the channel tokens.
func (a *Answers) EnvSecrets() []string {
	out := append([]string(nil), providerSecrets[a.Provider]...)
	for _, c := range a.Channels {
		out = append(out, channelSecrets[c]...)
	}
	return out
}

var (
	emailRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^@\s,]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`) })
	domainRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^@?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`) })
	sleepRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(s|m|h)$`) })
	hexIDRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{32}$`) })
)

// parseAllow splits an allow list (emails and domains, separated by commas
// or spaces) into email addresses and domains. "example.com" and
// "@example.com" both mean anyone with an address at example.com.
func parseAllow(items []string) (emails, domains []string, err error) {
	seen := map[string]bool{}
	for _, item := range items {
		for _, f := range strings.FieldsFunc(item, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			f = strings.ToLower(strings.TrimSpace(f))
			if f == "" || seen[f] {
				continue
			}
			seen[f] = true
			switch {
			case emailRE().MatchString(f):
				emails = append(emails, f)
			case domainRE().MatchString(f):
				domains = append(domains, strings.TrimPrefix(f, "@"))
			default:
				return nil, nil, fmt.Errorf("%q is neither an email address nor a domain", f)
			}
		}
	}
	return emails, domains, nil
}

// validateAllowInput checks what the user typed in the form.
func validateAllowInput(s string) error {
	e, d, err := parseAllow([]string{s})
	if err != nil {
		return err
	}
	if len(e)+len(d) == 0 {
		return fmt.Errorf("give at least one email address or domain")
	}
	return nil
}

// normalizeSleep validates a SANDBOX_SLEEP_AFTER value as moltworker reads it.
func normalizeSleep(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "never" {
		return "never", nil
	}
	if !sleepRE().MatchString(s) {
		return "", fmt.Errorf("sleep policy %q: want never or a duration such as 10m, 1h or 30s", s)
	}
	return s, nil
}

func normalizeChannels(in []string) ([]string, error) {
	set := map[string]bool{}
	for _, item := range in {
		for _, c := range strings.Split(item, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c == "" || c == "none" {
				continue
			}
			if _, ok := channelSecrets[c]; !ok {
				return nil, fmt.Errorf("unknown chat channel %q: want %s", c, strings.Join(channelNames, ", "))
			}
			set[c] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return indexOf(channelNames, out[i]) < indexOf(channelNames, out[j]) })
	return out, nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return len(list)
}
