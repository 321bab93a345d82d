package preflight

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// EmulatorSecrets reads deployed secret values from moltctl's Cloudflare
// emulator (pkg/cfemu), which keeps them, through its control endpoint
// GET /__emulator/state. Real Cloudflare never returns secret values.
type EmulatorSecrets struct {
	// Origin is the emulator's scheme://host:port.
	Origin string
	HTTP   *http.Client

	once    sync.Once
	scripts map[string]map[string]string
	err     error
}

// NewEmulatorSecrets returns a matcher when apiBaseURL points at a
// loopback address (where the emulator runs), else nil: nothing is ever
// sent anywhere else.
func NewEmulatorSecrets(apiBaseURL string, hc *http.Client) *EmulatorSecrets {
	u, err := url.Parse(apiBaseURL)
	if err != nil || u.Host == "" {
		return nil
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if !(host == "localhost" || strings.HasSuffix(host, ".localhost") || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &EmulatorSecrets{Origin: u.Scheme + "://" + u.Host, HTTP: hc}
}

func (m *EmulatorSecrets) load(ctx context.Context) error {
	m.once.Do(func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Origin+"/__emulator/state", nil)
		if err != nil {
			m.err = err
			return
		}
		res, err := m.HTTP.Do(req)
		if err != nil {
			m.err = err
			return
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			m.err = fmt.Errorf("emulator state: HTTP %d", res.StatusCode)
			return
		}
		var st struct {
			Scripts map[string]struct {
				Secrets map[string]string `json:"secrets"`
			} `json:"scripts"`
		}
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			m.err = fmt.Errorf("emulator state: %w", err)
			return
		}
		m.scripts = map[string]map[string]string{}
		for name, sc := range st.Scripts {
			m.scripts[name] = sc.Secrets
		}
	})
	return m.err
}

// SecretMatches implements SecretMatcher.
func (m *EmulatorSecrets) SecretMatches(ctx context.Context, script, name, value string) (match, known bool, err error) {
	if err := m.load(ctx); err != nil {
		return false, false, err
	}
	v, ok := m.scripts[script][name]
	if !ok {
		return false, false, nil
	}
	return v == value || (name == "CF_ACCESS_TEAM_DOMAIN" && strings.TrimPrefix(v, "https://") == value), true, nil
}
