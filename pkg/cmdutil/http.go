package cmdutil

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"
)

// NewHTTPClient returns the client every outbound request uses. Its dialer
// resolves names under .localhost to loopback, as RFC 6761 asks and as
// curl and browsers do, so a Worker served by the local emulator at
// <name>.<subdomain>.workers.dev.localhost is reachable.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && isLocalhostName(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}

func isLocalhostName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

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
