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

// span returns a matcher for prefix followed by least to most bytes that
// are all in class: what ^prefix[class]{least,most}$ matches, without
// compiling it (a counted repetition compiles to one state per repeat: up
// to 0.8 ms each, paid by every command that validates values). Each class
// is ASCII, so counting bytes is counting characters.
func span(prefix string, least, most int, class func(byte) bool) func(string) bool {
	return func(s string) bool {
		rest, ok := strings.CutPrefix(s, prefix)
		if !ok || len(rest) < least || len(rest) > most {
			return false
		}
		for i := 0; i < len(rest); i++ {
			if !class(rest[i]) {
				return false
			}
		}
		return true
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isToken is [A-Za-z0-9_-].
func isToken(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// isSlack is [0-9A-Za-z-].
func isSlack(c byte) bool { return isAlnum(c) || c == '-' }

// isHex is [0-9a-fA-F].
func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isGraphic is [!-~]: printable ASCII without space.
func isGraphic(c byte) bool { return c >= '!' && c <= '~' }

// The kinds of moltworker's secrets and settings.
var (
	KindAnthropicKey = &Kind{ID: "anthropic-api-key", Describe: "an Anthropic API key", Format: "sk-ant-…",
		Distinctive: true, check: span("sk-ant-", 20, 300, isToken)}
	KindOpenAIKey = &Kind{ID: "openai-api-key", Describe: "an OpenAI API key", Format: "sk-… (not sk-ant-)",
		Distinctive: true, check: func() func(string) bool {
			openAI := span("sk-", 20, 300, isToken)
			return func(s string) bool { return !strings.HasPrefix(s, "sk-ant-") && openAI(s) }
		}()}
	// Any non-empty string, as moltworker accepts (an existing deploy's
	// token can be imported); Validate warns when it is short.
	KindGatewayToken = &Kind{ID: "gateway-token", Describe: "a gateway token", Format: "any string; `openssl rand -hex 32` (or `generate: hex32`) makes a strong one",
		check: func(s string) bool { return strings.TrimSpace(s) != "" }}
	KindAccessAUD = &Kind{ID: "access-aud", Describe: "a Cloudflare Access AUD", Format: "the Access application's audience tag: 64 hex characters",
		Distinctive: true, check: span("", 64, 64, isHex)}
	KindTeamDomain = &Kind{ID: "access-team-domain", Describe: "a Cloudflare Access team domain", Format: "<team>.cloudflareaccess.com",
		Distinctive: true, check: re(`^(https://)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.cloudflareaccess\.com/?$`)}
	KindAccountID = &Kind{ID: "account-id", Describe: "a Cloudflare account ID", Format: "32 hex characters",
		Distinctive: true, check: span("", 32, 32, isHex)}
	KindR2KeyID = &Kind{ID: "r2-access-key-id", Describe: "an R2 access key ID", Format: "32 hex characters",
		Distinctive: true, check: span("", 32, 32, isHex)}
	KindR2Secret = &Kind{ID: "r2-secret-access-key", Describe: "an R2 secret access key", Format: "64 hex characters",
		Distinctive: true, check: span("", 64, 64, isHex)}
	KindTelegramToken = &Kind{ID: "telegram-bot-token", Describe: "a Telegram bot token", Format: "<digits>:<35 characters>, from @BotFather",
		Distinctive: true, check: re(`^[0-9]{5,12}:[A-Za-z0-9_-]{35}$`)}
	KindDiscordToken = &Kind{ID: "discord-bot-token", Describe: "a Discord bot token", Format: "three dot-separated base64url parts",
		Distinctive: true, check: re(`^[A-Za-z0-9_-]{23,30}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,45}$`)}
	KindSlackBotToken = &Kind{ID: "slack-bot-token", Describe: "a Slack bot token", Format: "xoxb-…",
		Distinctive: true, check: span("xoxb-", 20, 250, isSlack)}
	KindSlackAppToken = &Kind{ID: "slack-app-token", Describe: "a Slack app-level token", Format: "xapp-…",
		Distinctive: true, check: span("xapp-", 20, 250, isSlack)}
	KindAPIKey = &Kind{ID: "api-key", Describe: "an API key", Format: "16 or more characters without spaces",
		check: span("", 16, 512, isGraphic)}
	KindSharedSecret = &Kind{ID: "shared-secret", Describe: "a shared secret", Format: "16 or more characters without spaces",
		check: span("", 16, 512, isGraphic)}
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
