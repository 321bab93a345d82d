package cfemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// previews_enabled is taken as sent only with wrangler's API date header
// (packages/deploy-helpers/src/triggers/deploy.ts); without it preview
// URLs follow enabled, so a client that forgets the header gets them.
func TestScriptSubdomainNeedsTheAPIDate(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	if r := upload(t, srv, srv.Token(), "w", map[string]any{}); !r.Success {
		t.Fatalf("upload: %v", r.Errors)
	}
	post := func(date string) map[string]bool {
		body, _ := json.Marshal(map[string]bool{"enabled": true, "previews_enabled": false})
		req, _ := http.NewRequest(http.MethodPost, srv.APIURL()+"/accounts/"+apiAcct+"/workers/scripts/w/subdomain", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.Token())
		req.Header.Set("Content-Type", "application/json")
		if date != "" {
			req.Header.Set("Cloudflare-Workers-Script-Api-Date", date)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var env struct{ Result map[string]bool }
		_ = json.NewDecoder(res.Body).Decode(&env)
		return env.Result
	}
	if got := post(""); !got["enabled"] || !got["previews_enabled"] {
		t.Errorf("without the API date: %v; want preview URLs following enabled", got)
	}
	if got := post("2025-08-01"); !got["enabled"] || got["previews_enabled"] {
		t.Errorf("with the API date: %v; want previews_enabled false as sent", got)
	}
}

// Access lists are paged, so a client reading only the first page misses
// applications.
func TestAccessListsArePaged(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	srv.Update(func(s *State) {
		s.Access.Apps = map[string]*AccessApp{}
		for i := range 130 {
			id := fmt.Sprintf("app-%03d", i)
			s.Access.Apps[id] = &AccessApp{ID: id, Name: id, Type: "self_hosted"}
		}
	})
	for _, tt := range []struct {
		query       string
		count, page int
	}{{"", accessDefaultPerPage, 1}, {"?per_page=1000", accessMaxPerPage, 1}, {"?per_page=100&page=2", 30, 2}} {
		var items []any
		r := apiJSON(t, srv, "GET", "/accounts/"+apiAcct+"/access/apps"+tt.query, nil)
		r.decode(t, &items)
		if len(items) != tt.count || r.ResultInfo["total_count"] != float64(130) || r.ResultInfo["page"] != float64(tt.page) {
			t.Errorf("apps%s: %d items, result_info %v; want %d of 130, page %d", tt.query, len(items), r.ResultInfo, tt.count, tt.page)
		}
	}
}
