package cfemu

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Permission group names the emulator enforces, in the API's spelling
// ("Write" is the dashboard's "Edit").
const (
	PermWorkersScriptsWrite = "Workers Scripts Write"
	PermWorkersScriptsRead  = "Workers Scripts Read"
	PermR2Write             = "Workers R2 Storage Write"
	PermR2Read              = "Workers R2 Storage Read"
	PermAccountSettingsRead = "Account Settings Read"
	PermBillingRead         = "Billing Read"
)

// bearer returns the request's bearer token, "" when there is none.
func bearer(r *http.Request) string {
	v := r.Header.Get("Authorization")
	if len(v) < 7 || !strings.EqualFold(v[:7], "Bearer ") {
		return ""
	}
	return strings.TrimSpace(v[7:])
}

// authorize checks the request's API token for permission ("" = any valid
// token) and answers as Cloudflare does when it fails:
//   - no credentials: 400, 9106 "Missing X-Auth-Email header" and 9107
//     "Missing X-Auth-Key header" (the legacy pair the API asks for);
//   - an unknown, expired or disabled token: 400, 1000 "Invalid API Token"
//     for the token endpoints, else 403, 10000 "Authentication error";
//   - a token without the permission: 403, 10000 "Authentication error".
//
// The caller holds s.mu.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, permission string) (*Token, bool) {
	v := bearer(r)
	if v == "" {
		if r.Header.Get("Authorization") != "" {
			writeJSON(w, http.StatusBadRequest, envelope{Errors: []apiError{{Code: 6003, Message: "Invalid request headers"}}, Messages: []any{}})
			return nil, false
		}
		writeJSON(w, http.StatusBadRequest, envelope{Errors: []apiError{
			{Code: 9106, Message: "Missing X-Auth-Email header"},
			{Code: 9107, Message: "Missing X-Auth-Key header"},
		}, Messages: []any{}})
		return nil, false
	}
	t := s.state.Tokens[v]
	if t == nil || !t.Active(s.opts.Now()) {
		fail(w, http.StatusForbidden, 10000, "Authentication error")
		return nil, false
	}
	if !t.Allows(permission) {
		fail(w, http.StatusForbidden, 10000, "Authentication error")
		return nil, false
	}
	return t, true
}

// checkAccount answers 403 9109 unless the {account_id} path value is the
// emulated account. The caller holds s.mu.
func (s *Server) checkAccount(w http.ResponseWriter, r *http.Request) bool {
	if id := r.PathValue("account_id"); id != "" && id != s.state.Account.ID {
		fail(w, http.StatusForbidden, 9109, "Unauthorized to access requested resource")
		return false
	}
	return true
}

// guarded wraps an API handler: it locks the state, checks the token for
// permission and the path's account, then runs h.
func (s *Server) guarded(permission string, h func(w http.ResponseWriter, r *http.Request, t *Token)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		t, ok := s.authorize(w, r, permission)
		if !ok {
			return
		}
		if !s.checkAccount(w, r) {
			return
		}
		h(w, r, t)
	}
}

func (s *Server) registerAccounts() {
	s.handle("GET", "/user/tokens/verify", s.verifyToken("user"))
	s.handle("GET", "/accounts/{account_id}/tokens/verify", s.verifyToken("account"))
	s.handle("GET", "/accounts", s.guarded("", s.listAccounts))
	s.handle("GET", "/accounts/{account_id}", s.guarded("", s.getAccount))
	s.handle("GET", "/memberships", s.guarded("", s.listMemberships))
	s.handle("GET", "/user", s.guarded("", s.getUser))
	s.handle("GET", "/accounts/{account_id}/subscriptions", s.guarded(PermBillingRead, s.listSubscriptions))
}

// verifyToken answers /user/tokens/verify (owner "user") and
// /accounts/{id}/tokens/verify (owner "account"). A token of the other
// owner, or one the emulator does not know, fails with 1000 "Invalid API
// Token" as wrangler's whoami expects; an expired or disabled token is
// reported with its status.
func (s *Server) verifyToken(owner string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		v := bearer(r)
		if v == "" {
			if _, ok := s.authorize(w, r, ""); !ok {
				return
			}
		}
		t := s.state.Tokens[v]
		if t == nil || t.Owner != owner {
			fail(w, http.StatusUnauthorized, 1000, "Invalid API Token")
			return
		}
		if !s.checkAccount(w, r) {
			return
		}
		status := t.Status
		if status == "active" && !t.Active(s.opts.Now()) {
			status = "expired"
		}
		res := map[string]any{"id": t.ID, "status": status}
		if t.ExpiresOn != nil {
			res["expires_on"] = t.ExpiresOn.UTC().Format(time.RFC3339)
		}
		msg := []any{map[string]any{"code": 10000, "message": "This API Token is valid and active", "type": nil}}
		if status != "active" {
			msg = []any{}
		}
		writeJSON(w, http.StatusOK, envelope{Success: true, Errors: []apiError{}, Messages: msg, Result: res})
	}
}

// paged writes one page of items with page/per_page/count/total_count/total_pages.
func paged[T any](w http.ResponseWriter, r *http.Request, items []T) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
	}
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	if per < 1 {
		per = 20
	}
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"success": true, "errors": []any{}, "messages": []any{}, "result": out,
		"result_info": map[string]int{"page": page, "per_page": per, "count": len(out),
			"total_count": len(items), "total_pages": (len(items) + per - 1) / per},
	})
}

func (s *Server) accountJSON() map[string]any {
	return map[string]any{
		"id": s.state.Account.ID, "name": s.state.Account.Name, "type": "standard",
		"settings": map[string]any{"enforce_twofactor": false, "api_access_enabled": nil,
			"access_approval_expiry": nil, "use_account_custom_ns_by_default": false},
		"created_on": "2024-01-01T00:00:00Z",
	}
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request, _ *Token) {
	paged(w, r, []map[string]any{s.accountJSON()})
}

func (s *Server) getAccount(w http.ResponseWriter, _ *http.Request, _ *Token) {
	ok(w, http.StatusOK, s.accountJSON())
}

// listMemberships answers the user's memberships; account-owned tokens
// cannot read them (9106, which wrangler treats as "memberships inaccessible").
func (s *Server) listMemberships(w http.ResponseWriter, r *http.Request, t *Token) {
	if t.Owner == "account" {
		fail(w, http.StatusForbidden, 9106, "Authentication failed")
		return
	}
	a := s.state.Account
	paged(w, r, []map[string]any{{
		"id": "m" + a.ID[:min(len(a.ID), 31)], "status": "accepted",
		"account": map[string]any{"id": a.ID, "name": a.Name},
		"roles":   []string{"Super Administrator - All Privileges"},
		"permissions": map[string]any{"workers": map[string]bool{"read": true, "write": true},
			"billing": map[string]bool{"read": true, "write": true}},
	}})
}

// getUser answers the token's user; account-owned tokens get 9109, which
// wrangler's whoami ignores.
func (s *Server) getUser(w http.ResponseWriter, _ *http.Request, t *Token) {
	if t.Owner == "account" {
		fail(w, http.StatusForbidden, 9109, "Unauthorized to access requested resource")
		return
	}
	ok(w, http.StatusOK, map[string]any{
		"id": "u" + s.state.Account.ID[:min(len(s.state.Account.ID), 31)], "email": s.state.Account.Email,
		"first_name": nil, "last_name": nil, "suspended": false, "two_factor_authentication_enabled": false,
		"has_pro_zones": false, "has_business_zones": false, "has_enterprise_zones": false,
	})
}

// listSubscriptions lists the account's subscriptions: the Workers Paid
// rate plan when the account is on it, else none.
func (s *Server) listSubscriptions(w http.ResponseWriter, _ *http.Request, _ *Token) {
	subs := []map[string]any{}
	if s.state.Account.WorkersPaid {
		subs = append(subs, map[string]any{
			"id": "sub" + s.state.Account.ID[:min(len(s.state.Account.ID), 29)],
			"rate_plan": map[string]any{"id": "workers_paid", "public_name": "Workers Paid", "currency": "USD",
				"scope": "account", "externally_managed": false, "is_contract": false, "sets": []string{}},
			"state": "Paid", "price": 5, "currency": "USD", "frequency": "monthly", "component_values": []any{},
			"current_period_start": "2026-01-01T00:00:00Z", "current_period_end": "2027-01-01T00:00:00Z",
		})
	}
	okList(w, subs, len(subs))
}
