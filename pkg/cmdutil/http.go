package cmdutil

import (
	"net/http"
	"strings"

	"github.com/moltctl/moltctl/pkg/safehttp"
)

// NewHTTPClient returns the client every outbound request uses
// (safehttp.NewClient): plain HTTP only to this machine, redirects only to
// the same origin without a body or credentials, bounded waits. Its dialer
// resolves names under .localhost to loopback, as RFC 6761 asks and as
// curl and browsers do, so a Worker served by the local emulator at
// <name>.<subdomain>.workers.dev.localhost is reachable.
func NewHTTPClient() *http.Client { return safehttp.NewClient() }

// WorkersDevURL is the base URL of Worker name on the account's workers.dev
// subdomain. MOLTCTL_WORKERS_DEV_URL overrides the template (the emulator
// prints its own), with {name} and {subdomain} placeholders.
func (f *Factory) WorkersDevURL(name, subdomain string) string {
	tmpl := f.Getenv("MOLTCTL_WORKERS_DEV_URL")
	if tmpl == "" {
		tmpl = "https://{name}.{subdomain}.workers.dev"
	}
	return strings.NewReplacer("{name}", name, "{subdomain}", subdomain).Replace(tmpl)
}

// RegistryHost is CLOUDFLARE_CONTAINER_REGISTRY, as wrangler reads it, else Cloudflare's registry.
func (f *Factory) RegistryHost() string {
	if v := f.Getenv("CLOUDFLARE_CONTAINER_REGISTRY"); v != "" {
		return v
	}
	return "registry.cloudflare.com"
}
