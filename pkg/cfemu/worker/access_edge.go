package worker

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// accessClaims are the claims of an Access JWT.
type accessClaims struct {
	Aud        []string `json:"aud"`
	Iss        string   `json:"iss"`
	Sub        string   `json:"sub"`
	Email      string   `json:"email,omitempty"`
	CommonName string   `json:"common_name,omitempty"`
	Type       string   `json:"type"`
	Iat        int64    `json:"iat"`
	Exp        int64    `json:"exp"`
}

// mintJWT signs claims with the emulator's key (HS256; the real edge uses
// RS256 keys published at /cdn-cgi/access/certs). The caller holds h.mu.
func (h *Host) mintJWT(c accessClaims) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","kid":"cfemu","typ":"JWT"}`))
	body, _ := json.Marshal(c)
	signing := head + "." + enc.EncodeToString(body)
	mac := hmac.New(sha256.New, h.jwtKey)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// parseJWT verifies the signature and expiry. The caller holds h.mu.
func (h *Host) parseJWT(tok string) (*accessClaims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		//lint:ignore ST1005 the text Cloudflare Access answers with
		return nil, errors.New("Invalid Compact JWS")
	}
	mac := hmac.New(sha256.New, h.jwtKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, errors.New("signature verification failed")
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c accessClaims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, errors.New("JWT Claims Set must be a top-level JSON object")
	}
	if h.now().Unix() >= c.Exp {
		return nil, errors.New(`"exp" claim timestamp check failed`)
	}
	return &c, nil
}

// accessEdge is Cloudflare Access in front of the Worker. It reports whether
// the request may go on to the Worker; if not it has answered. A request that
// passes carries Cf-Access-Jwt-Assertion, as at the real edge.
func (h *Host) accessEdge(w http.ResponseWriter, r *http.Request, host string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, covered := h.acct.AccessApp(strings.TrimSuffix(host, ".localhost"), r.URL.Path)
	authDomain, hasOrg := h.acct.AccessAuthDomain()
	if !covered || !hasOrg {
		return true
	}
	now := h.now()
	if id := r.Header.Get("CF-Access-Client-Id"); id != "" || r.Header.Get("CF-Access-Client-Secret") != "" {
		if h.acct.ServiceTokenAdmitted(a, id, r.Header.Get("CF-Access-Client-Secret"), now) {
			r.Header.Del("CF-Access-Client-Secret")
			r.Header.Set("Cf-Access-Jwt-Assertion", h.mintJWT(accessClaims{Aud: []string{a.AUD}, Iss: "https://" + authDomain,
				CommonName: id, Sub: "", Type: "app", Iat: now.Unix(), Exp: now.Add(24 * time.Hour).Unix()}))
			return true
		}
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Forbidden</title></head><body><h1>Forbidden</h1><p>You don't have permission to view this. Please contact your system administrator.</p></body></html>\n"))
		return false
	}
	jwt := r.Header.Get("Cf-Access-Jwt-Assertion")
	if jwt == "" {
		jwt = r.Header.Get("cf-access-token")
	}
	if c, err := r.Cookie("CF_Authorization"); err == nil && jwt == "" {
		jwt = c.Value
	}
	if jwt != "" {
		if c, err := h.parseJWT(jwt); err == nil && len(c.Aud) > 0 && c.Aud[0] == a.AUD {
			r.Header.Set("Cf-Access-Jwt-Assertion", jwt)
			return true
		}
	}
	if a.ServiceAuth401Redirect && a.OnlyServiceAuth && !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.WriteHeader(http.StatusUnauthorized)
		return false
	}
	login := "https://" + authDomain + "/cdn-cgi/access/login/" + strings.TrimSuffix(hostOnly(host), ".localhost") +
		"?kid=" + a.AUD + "&redirect_url=" + url.QueryEscape(r.URL.Path)
	w.Header().Set("Location", login)
	w.WriteHeader(http.StatusFound)
	return false
}

func hostOnly(hostport string) string {
	if i := strings.LastIndex(hostport, ":"); i > 0 && !strings.Contains(hostport[i:], "]") {
		return hostport[:i]
	}
	return hostport
}

// AccessLogin signs a user in through the Access application covering host,
// as the browser login does, and returns the CF_Authorization cookie value.
// It fails when no application covers host or no allow policy admits email.
func (h *Host) AccessLogin(host, email string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, covered := h.acct.AccessApp(strings.TrimSuffix(strings.ToLower(hostOnly(host)), ".localhost"), "/")
	authDomain, hasOrg := h.acct.AccessAuthDomain()
	if !covered || !hasOrg {
		return "", fmt.Errorf("no Access application covers %s", host)
	}
	if !h.acct.EmailAdmitted(a, email) {
		return "", fmt.Errorf("no allow policy of %s admits %s", a.Name, email)
	}
	now := h.now()
	return h.mintJWT(accessClaims{Aud: []string{a.AUD}, Iss: "https://" + authDomain,
		Sub: newID(), Email: email, Type: "app", Iat: now.Unix(), Exp: now.Add(24 * time.Hour).Unix()}), nil
}

// workerAccess is moltworker's own Access middleware: it verifies the JWT
// the edge added against the Worker's CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD.
func (q *workerRequest) workerAccess(htmlType bool) bool {
	env := q.env
	if env["DEV_MODE"] == "true" || env["E2E_TEST_MODE"] == "true" {
		return true
	}
	team, aud := env["CF_ACCESS_TEAM_DOMAIN"], env["CF_ACCESS_AUD"]
	if team == "" || aud == "" {
		if htmlType {
			q.html(500, "<html><body><h1>Admin UI Not Configured</h1><p>Set CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD environment variables.</p></body></html>\n")
		} else {
			q.json(500, map[string]any{"error": "Cloudflare Access not configured", "hint": "Set CF_ACCESS_TEAM_DOMAIN and CF_ACCESS_AUD environment variables"})
		}
		return false
	}
	jwt := q.r.Header.Get("CF-Access-JWT-Assertion")
	if c, err := q.r.Cookie("CF_Authorization"); err == nil && jwt == "" {
		jwt = c.Value
	}
	if jwt == "" {
		if htmlType {
			q.w.Header().Set("Location", "https://"+team)
			q.w.WriteHeader(http.StatusFound)
		} else {
			q.json(401, map[string]any{"error": "Unauthorized", "hint": "Missing Cloudflare Access JWT. Ensure this route is protected by Cloudflare Access."})
		}
		return false
	}
	issuer := team
	if !strings.HasPrefix(issuer, "https://") {
		issuer = "https://" + issuer
	}
	q.h.mu.Lock()
	var err error
	c, perr := q.h.parseJWT(jwt)
	authDomain, hasOrg := q.h.acct.AccessAuthDomain()
	switch {
	case !hasOrg || "https://"+authDomain != issuer:
		// The keys are fetched from the team domain the Worker names; another
		// team's keys do not verify this edge's signature.
		err = errors.New("no applicable key found in the JSON Web Key Set")
	case perr != nil:
		err = perr
	case c.Iss != issuer:
		err = errors.New(`unexpected "iss" claim value`)
	case len(c.Aud) == 0 || c.Aud[0] != aud:
		err = errors.New(`unexpected "aud" claim value`)
	}
	q.h.mu.Unlock()
	if err != nil {
		if htmlType {
			q.html(401, "<html><body><h1>Unauthorized</h1><p>Your Cloudflare Access session is invalid or expired.</p><a href=\"https://"+team+"\">Login again</a></body></html>\n")
		} else {
			q.json(401, map[string]any{"error": "Unauthorized", "details": err.Error()})
		}
		return false
	}
	return true
}
