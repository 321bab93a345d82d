package cfemu

import (
	"net/http"
	"net/url"
	"testing"
)

func TestPermissionGroups(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	tests := []struct {
		query string
		want  []string
	}{
		{"name=" + url.QueryEscape("Workers R2 Storage Bucket Item Write"), []string{"2efd5506f9c8494dacb1fa10a3e7d5b6"}},
		{"scope=com.cloudflare.edge.r2.bucket", []string{"2efd5506f9c8494dacb1fa10a3e7d5b6", "6a018a9f2fc74eb6b293b0c548f38b39"}},
		{"name=nothing", nil},
	}
	for _, base := range []string{"/user/tokens/permission_groups", "/accounts/" + srv.AccountID() + "/tokens/permission_groups"} {
		for _, tt := range tests {
			_, env := rtCall(t, srv, "GET", base+"?"+tt.query, nil)
			list, _ := env["result"].([]any)
			var ids []string
			for _, g := range list {
				ids = append(ids, g.(map[string]any)["id"].(string))
			}
			if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
				t.Errorf("%s?%s: %v", base, tt.query, ids)
			}
		}
	}
	if a, b := PermissionGroups()[0].ID, PermissionGroups()[0].ID; a != b || len(a) != 32 {
		t.Errorf("ids not stable: %s %s", a, b)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	srv := New(Options{}).Start()
	defer srv.Close()
	base := "/accounts/" + srv.AccountID() + "/tokens"
	body := map[string]any{"name": "moltbot-r2", "policies": []any{map[string]any{"effect": "allow",
		"permission_groups": []any{map[string]any{"id": "2efd5506f9c8494dacb1fa10a3e7d5b6"}},
		"resources":         map[string]any{"com.cloudflare.edge.r2.bucket." + srv.AccountID() + "_default_moltbot-data": "*"}}},
		"condition": map[string]any{"request.ip": map[string]any{"in": []string{"10.0.0.0/8"}}}}
	if code, _ := rtCall(t, srv, "POST", base, map[string]any{"name": "x", "policies": []any{map[string]any{"effect": "allow",
		"permission_groups": []any{map[string]any{"id": "nope"}}, "resources": map[string]any{"a": "*"}}}}); code != 400 {
		t.Errorf("unknown group: %d", code)
	}
	code, env := rtCall(t, srv, "POST", base, body)
	created := rtResult(env)
	value, _ := created["value"].(string)
	if code != 200 || value == "" {
		t.Fatalf("create: %d %v", code, env)
	}
	id := created["id"].(string)
	// The new token authenticates, has only its permission, and is account-owned.
	as := func(method, path string) int {
		req, _ := http.NewRequest(method, srv.APIURL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Not even itself: reading a token needs Account API Tokens Read.
	if c := as("GET", base+"/"+id); c != 403 {
		t.Errorf("token without Account API Tokens Read reads itself: %d, want 403", c)
	}
	if c := as("GET", "/accounts/"+srv.AccountID()+"/containers/me"); c != 403 {
		t.Errorf("token beyond its scope: %d", c)
	}
	_, env = rtCall(t, srv, "GET", base+"/"+id, nil)
	pols, _ := rtResult(env)["policies"].([]any)
	if len(pols) != 1 || rtResult(env)["value"] != nil {
		t.Fatalf("get: %v", env)
	}
	groups := pols[0].(map[string]any)["permission_groups"].([]any)
	if groups[0].(map[string]any)["name"] != "Workers R2 Storage Bucket Item Write" {
		t.Errorf("group names: %v", groups)
	}
	// Listing: the new token is account-owned, the emulator's own is a user token.
	names := func(path string) map[string]bool {
		_, env := rtCall(t, srv, "GET", path, nil)
		out := map[string]bool{}
		for _, tok := range env["result"].([]any) {
			m := tok.(map[string]any)
			if m["value"] != nil {
				t.Errorf("%s lists a token value", path)
			}
			out[m["name"].(string)] = true
		}
		return out
	}
	if n := names(base); !n["moltbot-r2"] {
		t.Errorf("account tokens: %v", n)
	}
	if n := names("/user/tokens"); n["moltbot-r2"] || len(n) == 0 {
		t.Errorf("user tokens: %v", n)
	}
	if code, _ := rtCall(t, srv, "DELETE", base+"/"+id, nil); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if c := as("GET", base+"/"+id); c == 200 {
		t.Errorf("deleted token still works")
	}
	if code, _ := rtCall(t, srv, "DELETE", base+"/"+id, nil); code != 404 {
		t.Errorf("delete again: %d", code)
	}
}
