// Package secrets knows moltworker's secrets and settings: the name of
// each, its kind (the format its value must have), whether it is required,
// and which ones go together. It validates a set of values against that
// catalogue, recognises values typed under the wrong name (swaps), and
// keeps values out of every printed form (see Values). No message this
// package produces ever contains a value.
package secrets

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"unicode"
)

// Kind is the format of a value. Kinds are compared by ID.
type Kind struct {
	// ID is the stable, machine-readable name (JSON, docs, schema).
	ID string
	// Describe reads well after "looks like": "an Anthropic API key".
	Describe string
	// Format says what a valid value looks like, without being one: "sk-ant-…".
	Format string
	// Distinctive kinds are shapes no value of another kind would have by
	// chance (credential prefixes, fixed-length hex); only these are named
	// when guessing that two values were swapped.
	Distinctive bool
	check       func(string) bool
}

// Valid reports whether value has this kind's format.
func (k *Kind) Valid(value string) bool { return k.check(value) }

// re returns a matcher compiled on first use: compiling every kind's
// expression at package init cost milliseconds on every moltctl start.
func re(expr string) func(string) bool {
	compiled := sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
	return func(s string) bool { return compiled().MatchString(s) }
}

// The kinds of moltworker's secrets and settings.
var (
	KindAnthropicKey = &Kind{ID: "anthropic-api-key", Describe: "an Anthropic API key", Format: "sk-ant-…",
		Distinctive: true, check: re(`^sk-ant-[A-Za-z0-9_-]{20,300}$`)}
	KindOpenAIKey = &Kind{ID: "openai-api-key", Describe: "an OpenAI API key", Format: "sk-… (not sk-ant-)",
		Distinctive: true, check: func() func(string) bool {
			openAI := re(`^sk-[A-Za-z0-9_-]{20,300}$`)
			return func(s string) bool { return !strings.HasPrefix(s, "sk-ant-") && openAI(s) }
		}()}
	// Any non-empty string, as moltworker accepts (an existing deploy's
	// token can be imported); Validate warns when it is short.
	KindGatewayToken = &Kind{ID: "gateway-token", Describe: "a gateway token", Format: "any string; `openssl rand -hex 32` (or `generate: hex32`) makes a strong one",
		check: func(s string) bool { return strings.TrimSpace(s) != "" }}
	KindAccessAUD = &Kind{ID: "access-aud", Describe: "a Cloudflare Access AUD", Format: "the Access application's audience tag: 64 hex characters",
		Distinctive: true, check: re(`^[0-9a-fA-F]{64}$`)}
	KindTeamDomain = &Kind{ID: "access-team-domain", Describe: "a Cloudflare Access team domain", Format: "<team>.cloudflareaccess.com",
		Distinctive: true, check: re(`^(https://)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.cloudflareaccess\.com/?$`)}
	KindAccountID = &Kind{ID: "account-id", Describe: "a Cloudflare account ID", Format: "32 hex characters",
		Distinctive: true, check: re(`^[0-9a-fA-F]{32}$`)}
	KindR2KeyID = &Kind{ID: "r2-access-key-id", Describe: "an R2 access key ID", Format: "32 hex characters",
		Distinctive: true, check: re(`^[0-9a-fA-F]{32}$`)}
	KindR2Secret = &Kind{ID: "r2-secret-access-key", Describe: "an R2 secret access key", Format: "64 hex characters",
		Distinctive: true, check: re(`^[0-9a-fA-F]{64}$`)}
	KindTelegramToken = &Kind{ID: "telegram-bot-token", Describe: "a Telegram bot token", Format: "<digits>:<35 characters>, from @BotFather",
		Distinctive: true, check: re(`^[0-9]{5,12}:[A-Za-z0-9_-]{35}$`)}
	KindDiscordToken = &Kind{ID: "discord-bot-token", Describe: "a Discord bot token", Format: "three dot-separated base64url parts",
		Distinctive: true, check: re(`^[A-Za-z0-9_-]{23,30}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,45}$`)}
	KindSlackBotToken = &Kind{ID: "slack-bot-token", Describe: "a Slack bot token", Format: "xoxb-…",
		Distinctive: true, check: re(`^xoxb-[0-9A-Za-z-]{20,250}$`)}
	KindSlackAppToken = &Kind{ID: "slack-app-token", Describe: "a Slack app-level token", Format: "xapp-…",
		Distinctive: true, check: re(`^xapp-[0-9A-Za-z-]{20,250}$`)}
	KindAPIKey = &Kind{ID: "api-key", Describe: "an API key", Format: "16 or more characters without spaces",
		check: re(`^[!-~]{16,512}$`)}
	KindSharedSecret = &Kind{ID: "shared-secret", Describe: "a shared secret", Format: "16 or more characters without spaces",
		check: re(`^[!-~]{16,512}$`)}
	KindGatewayID = &Kind{ID: "ai-gateway-id", Describe: "an AI Gateway ID", Format: "the gateway's name: lower-case letters, digits, - and _",
		check: re(`^[a-z0-9][a-z0-9_-]{0,63}$`)}
	KindURL = &Kind{ID: "url", Describe: "a URL", Format: "https://host/path",
		check: re(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$`)}
	KindDuration = &Kind{ID: "duration", Describe: "a sleep duration", Format: "never, or a duration such as 30s, 10m or 1h",
		check: func() func(string) bool {
			duration := re(`^(never|[0-9]{1,6}[smh])$`)
			return func(s string) bool { return duration(strings.ToLower(s)) }
		}()}
	KindBoolean = &Kind{ID: "boolean", Describe: "a boolean", Format: "true or false",
		check: re(`^(true|false)$`)}
	KindDMPolicy = &Kind{ID: "dm-policy", Describe: "a DM policy", Format: "pairing or open",
		check: re(`^(pairing|open)$`)}
	KindModel = &Kind{ID: "ai-model", Describe: "an AI Gateway model", Format: "provider/model-id, such as workers-ai/@cf/…",
		check: re(`^[a-z0-9][a-z0-9-]*/[!-~]+$`)}
	KindBucketName = &Kind{ID: "r2-bucket-name", Describe: "an R2 bucket name", Format: "3–63 lower-case letters, digits and hyphens",
		check: re(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)}
	KindList = &Kind{ID: "list", Describe: "a comma-separated list", Format: "comma-separated values",
		check: re(`^[^,\s]+(\s*,\s*[^,\s]+)*$`)}
	// KindAny accepts anything; it is the kind of names outside the catalogue.
	KindAny = &Kind{ID: "any", Describe: "a value", Format: "any value", check: func(string) bool { return true }}
)

// Kinds lists every kind, for documentation and tests.
func Kinds() []*Kind {
	return []*Kind{KindAnthropicKey, KindOpenAIKey, KindGatewayToken, KindAccessAUD, KindTeamDomain, KindAccountID,
		KindR2KeyID, KindR2Secret, KindTelegramToken, KindDiscordToken, KindSlackBotToken, KindSlackAppToken, KindAPIKey,
		KindSharedSecret, KindGatewayID, KindURL, KindDuration, KindBoolean, KindDMPolicy, KindModel, KindBucketName, KindList, KindAny}
}

// FormatError says why a value does not fit its kind. It never holds the value.
type FormatError struct {
	Name   string
	Kind   *Kind
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("the value for %s %s", e.Name, e.Reason)
}

// describeMismatch explains, without quoting it, why value is not of kind k.
func describeMismatch(k *Kind, value string) string {
	switch {
	case value == "":
		return "is empty"
	case strings.TrimSpace(value) != value:
		return "has leading or trailing whitespace (a pasted newline?)"
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		return "contains control characters"
	}
	return fmt.Sprintf("is not %s: want %s (got %d characters)", k.Describe, k.Format, len(value))
}
