package assistant

import (
	"fmt"
	"strings"

	"github.com/moltctl/moltctl/pkg/secrets"
)

// AccessError means Cloudflare Access did not let the request through: it
// redirected to its login page or refused the service token. The Worker
// never saw the request.
type AccessError struct {
	// Status is the HTTP status Access answered with (302, 401 or 403).
	Status int
	// Location is where Access redirected to, if it did.
	Location string
	// NoToken is true when moltctl had no service token to send.
	NoToken bool
}

func (e *AccessError) Error() string {
	if e.NoToken {
		return "Cloudflare Access blocked the request: moltctl has no Access service token for this assistant"
	}
	if e.Location != "" {
		return fmt.Sprintf("Cloudflare Access redirected the request to its login page (%d to %s): the service token was not accepted", e.Status, hostOf(e.Location))
	}
	return fmt.Sprintf("Cloudflare Access refused the request (HTTP %d): the service token was not accepted", e.Status)
}

// Hint says how to fix it.
func (e *AccessError) Hint() string {
	if e.NoToken {
		return "run `moltctl deploy` in this project: it creates the Access application and the service token moltctl uses and keeps its secret in .moltctl/"
	}
	return "the Access service token is missing, expired, revoked or not allowed by the application's policy; run `moltctl deploy` to recreate it and its policy"
}

// ConfigError is the Worker's 503 "Configuration error": required
// secrets are not set.
type ConfigError struct {
	Missing []string
	Message string
}

func (e *ConfigError) Error() string {
	if len(e.Missing) == 0 {
		return "the Worker reports a configuration error: " + e.Message
	}
	return "the Worker is missing required secrets: " + strings.Join(e.Missing, ", ")
}

// Hint says how to fix it: one command that runs as written, where
// moltworker lists alternatives (any one AI provider) the first of them,
// the others in prose.
func (e *ConfigError) Hint() string {
	cmd, alts := secrets.SetCommand(e.Missing)
	if cmd == "" {
		cmd = "moltctl secrets set NAME"
	}
	them := "them"
	if len(e.Missing) == 1 {
		them = "it"
	}
	fix := fmt.Sprintf("set %s with `%s` (or add %s to moltctl.yaml) and run `moltctl deploy`", them, cmd, them)
	for _, a := range alts {
		fix += fmt.Sprintf("; any one of %s will do", a)
	}
	return fix
}

// UnauthorizedError is a 401 from the Worker's own check of the Access
// JWT: the request passed Access but the Worker's CF_ACCESS_AUD or
// CF_ACCESS_TEAM_DOMAIN do not match the Access application, or there is no
// Access application in front of the Worker at all.
type UnauthorizedError struct {
	// Details is the Worker's explanation (e.g. the JWT check's failure).
	Details string
	// MissingJWT is true when no Access JWT reached the Worker.
	MissingJWT bool
}

func (e *UnauthorizedError) Error() string {
	if e.MissingJWT {
		return "the Worker rejected the request: no Cloudflare Access JWT reached it (is the Access application in front of this Worker?)"
	}
	if e.Details != "" {
		return "the Worker rejected the Access JWT: " + e.Details
	}
	return "the Worker rejected the Access JWT"
}

// Hint says how to fix it.
func (e *UnauthorizedError) Hint() string {
	return "CF_ACCESS_AUD or CF_ACCESS_TEAM_DOMAIN do not match the Access application protecting the Worker; run `moltctl deploy` to set them again"
}

// GatewayError is an error the Worker reported about the gateway or the
// admin call (for example 503 "Moltbot gateway failed to start").
type GatewayError struct {
	Status  int
	Message string
	Details string
	Fix     string
}

func (e *GatewayError) Error() string {
	msg := fmt.Sprintf("the assistant answered HTTP %d", e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Details != "" {
		msg += " (" + e.Details + ")"
	}
	return msg
}

// Hint names a known cause, or returns the Worker's own hint, or a general one.
func (e *GatewayError) Hint() string {
	if h := diagnosedHint(e.Message, e.Details); h != "" {
		return h
	}
	if e.Fix != "" {
		return e.Fix
	}
	if e.Status >= 500 {
		return "see the Worker's logs with `moltctl logs`; `moltctl restart` restarts the gateway"
	}
	return ""
}

// NotDeployedError means nothing answers at the Worker's URL.
type NotDeployedError struct {
	URL    string
	Status int
}

func (e *NotDeployedError) Error() string {
	return fmt.Sprintf("no Worker answers at %s (HTTP %d)", e.URL, e.Status)
}

// Hint says how to fix it.
func (e *NotDeployedError) Hint() string {
	return "run `moltctl deploy` first"
}

func hostOf(loc string) string {
	s := loc
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	return s
}
