package preflight

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
)

// Nobody outside Cloudflare knows the codes or texts the API answers for
// "organization already exists" or "team name taken", so creating the
// organization must not depend on them: whatever the refusal says, an
// organization that exists afterwards is success, and a refused name is
// followed by the next one.
func TestFixAccessOrgDoesNotParseRefusals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		existing  bool   // an organization appears despite the refusal
		takenTeam string // refused with an unknown code
		want      string // auth domain created, "" when none is
	}{
		{"exists already", true, "", ""},
		{"team name taken", false, "team", "team-2.cloudflareaccess.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var org string
			if tt.existing {
				org = "other.cloudflareaccess.com"
			}
			created := ""
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				refuse := func() {
					w.WriteHeader(http.StatusBadRequest)
					w.Write([]byte(`{"success":false,"errors":[{"code":99999,"message":"something nobody documented"}],"messages":[],"result":null}`))
				}
				switch {
				case r.URL.Path == "/client/v4/accounts" || strings.HasSuffix(r.URL.Path, "/tokens/verify"):
					w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":[{"id":"acc","name":"A"}],"result_info":{"page":1,"per_page":50,"count":1,"total_count":1}}`))
				case r.Method == http.MethodGet && org == "":
					w.WriteHeader(http.StatusNotFound)
					w.Write([]byte(`{"success":false,"errors":[{"code":99998,"message":"none"}],"messages":[],"result":null}`))
				case r.Method == http.MethodGet:
					w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"name":"x","auth_domain":"` + org + `"}}`))
				default:
					var body struct {
						AuthDomain string `json:"auth_domain"`
					}
					_ = json.NewDecoder(r.Body).Decode(&body)
					if org != "" || body.AuthDomain == tt.takenTeam+".cloudflareaccess.com" {
						refuse()
						return
					}
					org, created = body.AuthDomain, body.AuthDomain
					w.Write([]byte(`{"success":true,"errors":[],"messages":[],"result":{"name":"x","auth_domain":"` + org + `"}}`))
				}
			}))
			t.Cleanup(srv.Close)
			e := &Env{API: cfapi.New(cfapi.Options{BaseURL: srv.URL + "/client/v4", Token: "tok", AccountID: "acc"}), AccountID: "acc"}
			if err := fixAccessOrg(context.Background(), e, "team"); err != nil || created != tt.want {
				t.Errorf("fixAccessOrg = %v, created %q; want success creating %q", err, created, tt.want)
			}
		})
	}
}
