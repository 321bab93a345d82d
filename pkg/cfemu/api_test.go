package cfemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
)

const apiAcct = "0123456789abcdef0123456789abcdef"

// apiResp is a decoded v4 envelope.
type apiResp struct {
	Status     int
	Header     http.Header
	Success    bool            `json:"success"`
	Errors     []apiError      `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo map[string]any  `json:"result_info"`
}

func (r apiResp) code() int {
	if len(r.Errors) == 0 {
		return 0
	}
	return r.Errors[0].Code
}

func (r apiResp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Result, v); err != nil {
		t.Fatalf("decode result %s: %v", r.Result, err)
	}
}

// apiDo sends one request to the emulator's API with token (none when "").
func apiDo(t *testing.T, srv *Server, token, method, path, contentType string, body io.Reader) apiResp {
	t.Helper()
	req, err := http.NewRequest(method, srv.APIURL()+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := apiResp{Status: res.StatusCode, Header: res.Header}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not an envelope (%d): %s", method, path, res.StatusCode, b)
	}
	return out
}

func apiJSON(t *testing.T, srv *Server, method, path string, body any) apiResp {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	return apiDo(t, srv, srv.Token(), method, path, "application/json", r)
}

func newAPI(t *testing.T, scenario string) *Server {
	t.Helper()
	srv := New(Options{AccountID: apiAcct, Scenario: scenario, ColdStart: 50 * time.Millisecond}).Start()
	t.Cleanup(srv.Close)
	return srv
}

// uploadForm builds a Worker upload: metadata plus one ESM module.
func uploadForm(t *testing.T, meta map[string]any) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, found := meta["main_module"]; !found {
		meta["main_module"] = "index.js"
	}
	mb, _ := json.Marshal(meta)
	if err := mw.WriteField("metadata", string(mb)); err != nil {
		t.Fatal(err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="index.js"; filename="index.js"`)
	h.Set("Content-Type", "application/javascript+module")
	p, _ := mw.CreatePart(h)
	_, _ = p.Write([]byte("export default { fetch() { return new Response('ok') } }"))
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

func upload(t *testing.T, srv *Server, token, name string, meta map[string]any) apiResp {
	t.Helper()
	ct, body := uploadForm(t, meta)
	return apiDo(t, srv, token, "PUT", "/accounts/"+apiAcct+"/workers/scripts/"+name, ct, body)
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	scripts := "/accounts/" + apiAcct + "/workers/scripts"
	tests := []struct {
		name, token, method, path string
		status, code              int
	}{
		{"no token", "", "GET", scripts, 400, 9106},
		{"unknown token", "nope", "GET", scripts, 403, 10000},
		{"expired token", srv.ExpiredToken(), "GET", scripts, 403, 10000},
		{"scoped token reads", srv.ScopedToken(), "GET", scripts, 200, 0},
		{"scoped token cannot write R2", srv.ScopedToken(), "POST", "/accounts/" + apiAcct + "/r2/buckets", 403, 10000},
		{"scoped token cannot read billing", srv.ScopedToken(), "GET", "/accounts/" + apiAcct + "/subscriptions", 403, 10000},
		{"other account", srv.Token(), "GET", "/accounts/ffffffffffffffffffffffffffffffff/workers/scripts", 403, 9109},
		{"unknown route", srv.Token(), "GET", "/accounts/" + apiAcct + "/nothing", 404, 7003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := apiDo(t, srv, tt.token, tt.method, tt.path, "application/json", strings.NewReader(`{"name":"b-1"}`))
			if r.Status != tt.status || r.code() != tt.code {
				t.Errorf("got %d code %d, want %d code %d (%v)", r.Status, r.code(), tt.status, tt.code, r.Errors)
			}
		})
	}
}

func TestVerifyAndAccounts(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	tests := []struct {
		name, token, path string
		status, code      int
		tokenStatus       string
	}{
		{"user token", srv.Token(), "/user/tokens/verify", 200, 0, "active"},
		{"account token on user verify", srv.AccountToken(), "/user/tokens/verify", 401, 1000, ""},
		{"account token on account verify", srv.AccountToken(), "/accounts/" + apiAcct + "/tokens/verify", 200, 0, "active"},
		{"user token on account verify", srv.Token(), "/accounts/" + apiAcct + "/tokens/verify", 401, 1000, ""},
		{"unknown token", "nope", "/user/tokens/verify", 401, 1000, ""},
		{"expired token", srv.ExpiredToken(), "/user/tokens/verify", 200, 0, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := apiDo(t, srv, tt.token, "GET", tt.path, "", nil)
			if r.Status != tt.status || r.code() != tt.code {
				t.Fatalf("got %d code %d, want %d code %d", r.Status, r.code(), tt.status, tt.code)
			}
			if tt.tokenStatus != "" {
				var v struct{ ID, Status string }
				r.decode(t, &v)
				if v.Status != tt.tokenStatus || v.ID == "" {
					t.Errorf("verify = %+v, want status %s", v, tt.tokenStatus)
				}
			}
		})
	}

	r := apiDo(t, srv, srv.Token(), "GET", "/accounts?page=1&per_page=5", "", nil)
	var accts []struct{ ID, Name, Type string }
	r.decode(t, &accts)
	if len(accts) != 1 || accts[0].ID != apiAcct || accts[0].Type != "standard" || r.ResultInfo["total_count"] != float64(1) {
		t.Errorf("accounts = %+v %v", accts, r.ResultInfo)
	}
	r = apiDo(t, srv, srv.AccountToken(), "GET", "/memberships", "", nil)
	if r.code() != 9106 {
		t.Errorf("account token memberships code = %d, want 9106", r.code())
	}
	r = apiDo(t, srv, srv.AccountToken(), "GET", "/user", "", nil)
	if r.code() != 9109 {
		t.Errorf("account token /user code = %d, want 9109", r.code())
	}

	for _, tc := range []struct {
		scenario string
		want     int
	}{{ScenarioReady, 1}, {ScenarioNewAccount, 0}} {
		s := newAPI(t, tc.scenario)
		var subs []struct {
			RatePlan struct{ ID string } `json:"rate_plan"`
		}
		apiJSON(t, s, "GET", "/accounts/"+apiAcct+"/subscriptions", nil).decode(t, &subs)
		if len(subs) != tc.want || (tc.want == 1 && subs[0].RatePlan.ID != "workers_paid") {
			t.Errorf("%s subscriptions = %+v", tc.scenario, subs)
		}
	}
}

func TestSubdomains(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioNewAccount)
	base := "/accounts/" + apiAcct + "/workers"
	if r := apiJSON(t, srv, "GET", base+"/subdomain", nil); r.code() != 10007 {
		t.Errorf("no subdomain: code %d, want 10007", r.code())
	}
	if r := upload(t, srv, srv.Token(), "w", map[string]any{}); r.code() != 10063 {
		t.Errorf("upload without a subdomain: code %d, want 10063", r.code())
	}
	for name, code := range map[string]int{"free-name": 10032, "taken": 10031} {
		if r := apiJSON(t, srv, "GET", base+"/subdomains/"+name, nil); r.code() != code {
			t.Errorf("availability of %s: code %d, want %d", name, r.code(), code)
		}
	}
	if r := apiJSON(t, srv, "PUT", base+"/subdomain", map[string]string{"subdomain": "-bad"}); r.Success {
		t.Errorf("an invalid subdomain was accepted")
	}
	if r := apiJSON(t, srv, "PUT", base+"/subdomain", map[string]string{"subdomain": "mine"}); !r.Success {
		t.Fatalf("put subdomain: %v", r.Errors)
	}
	var sub struct{ Subdomain string }
	apiJSON(t, srv, "GET", base+"/subdomain", nil).decode(t, &sub)
	if sub.Subdomain != "mine" {
		t.Errorf("subdomain = %q", sub.Subdomain)
	}
	if r := upload(t, srv, srv.Token(), "w", map[string]any{}); !r.Success {
		t.Fatalf("upload: %v", r.Errors)
	}
	var en struct{ Enabled bool }
	apiJSON(t, srv, "GET", base+"/scripts/w/subdomain", nil).decode(t, &en)
	if en.Enabled {
		t.Errorf("a new script should not be on workers.dev until enabled")
	}
	apiJSON(t, srv, "POST", base+"/scripts/w/subdomain", map[string]bool{"enabled": true}).decode(t, &en)
	srv.View(func(st *State) {
		if !st.Scripts["w"].WorkersDevEnabled {
			t.Errorf("POST subdomain did not enable workers.dev")
		}
	})
	apiJSON(t, srv, "DELETE", base+"/scripts/w/subdomain", nil)
	srv.View(func(st *State) {
		if st.Scripts["w"].WorkersDevEnabled {
			t.Errorf("DELETE subdomain did not disable workers.dev")
		}
	})
}

func TestScriptUpload(t *testing.T) {
	t.Parallel()
	base := "/accounts/" + apiAcct + "/workers/scripts/"
	do := map[string]any{"type": "durable_object_namespace", "name": "Sandbox", "class_name": "Sandbox"}
	r2 := map[string]any{"type": "r2_bucket", "name": "BUCKET", "bucket_name": "data"}
	mig := map[string]any{"new_tag": "v1", "steps": []any{map[string]any{"new_sqlite_classes": []string{"Sandbox"}}}}
	tests := []struct {
		name     string
		scenario string
		prepare  func(*State)
		meta     map[string]any
		code     int
	}{
		{"DO without migration", ScenarioReady, nil, map[string]any{"bindings": []any{do}}, 10061},
		{"DO with migration", ScenarioReady, nil, map[string]any{"bindings": []any{do}, "migrations": mig}, 0},
		{"R2 not enabled", ScenarioReady, func(st *State) { st.Account.R2Enabled = false }, map[string]any{"bindings": []any{r2}}, 10136},
		{"R2 bucket missing", ScenarioReady, nil, map[string]any{"bindings": []any{r2}}, 10085},
		{"migration then missing bucket", ScenarioReady, nil, map[string]any{"bindings": []any{do, r2}, "migrations": mig}, 10085},
		{"R2 bucket present", ScenarioReady, func(st *State) { st.Buckets["data"] = &Bucket{Name: "data"} }, map[string]any{"bindings": []any{r2}}, 0},
		{"KV-backed DO on the free plan", ScenarioReady, func(st *State) { st.Account.WorkersPaid = false },
			map[string]any{"bindings": []any{do}, "migrations": map[string]any{"new_tag": "v1", "new_classes": []string{"Sandbox"}}}, 10097},
		{"old_tag on a new script", ScenarioReady, nil, map[string]any{"migrations": map[string]any{"old_tag": "v0", "new_tag": "v1"}}, 10079},
		{"missing main module", ScenarioReady, nil, map[string]any{"main_module": "other.js"}, 10021},
		{"bad assets token", ScenarioReady, nil, map[string]any{"assets": map[string]any{"jwt": "x.y.z"}}, 10021},
		{"inherit of nothing", ScenarioReady, nil, map[string]any{"bindings": []any{map[string]any{"type": "inherit", "name": "X"}}}, 10021},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPI(t, tt.scenario)
			if tt.prepare != nil {
				srv.Update(tt.prepare)
			}
			r := upload(t, srv, srv.Token(), "w", tt.meta)
			if r.code() != tt.code {
				t.Fatalf("code %d, want %d: %v", r.code(), tt.code, r.Errors)
			}
			srv.View(func(st *State) {
				if (st.Scripts["w"] != nil) != (tt.code == 0) {
					t.Errorf("script stored = %v after code %d", st.Scripts["w"] != nil, tt.code)
				}
				if tt.code != 0 && len(st.DONamespaces) != 0 {
					t.Errorf("a refused upload left %d namespaces", len(st.DONamespaces))
				}
			})
		})
	}

	t.Run("lifecycle", func(t *testing.T) {
		srv := newAPI(t, ScenarioReady)
		srv.Update(func(st *State) { st.Buckets["data"] = &Bucket{Name: "data"} })
		vars := map[string]any{"type": "plain_text", "name": "MODE", "text": "a"}
		secret := map[string]any{"type": "secret_text", "name": "TOKEN", "text": "s3cret"}
		r := upload(t, srv, srv.Token(), "w", map[string]any{"compatibility_date": "2025-05-06", "compatibility_flags": []string{"nodejs_compat"},
			"bindings": []any{do, r2, vars, secret}, "migrations": mig, "containers": []any{map[string]any{"class_name": "Sandbox"}}})
		var res struct {
			ID, Etag     string
			DeploymentID string `json:"deployment_id"`
		}
		r.decode(t, &res)
		if res.DeploymentID == "" || res.Etag == "" || res.ID != "w" {
			t.Fatalf("upload result = %+v", res)
		}
		var ns1 string
		srv.View(func(st *State) { ns1 = st.Scripts["w"].DONamespaces()["Sandbox"] })

		// The version lists bindings with the namespace id; the secret by name only.
		var v struct {
			Resources struct {
				Bindings []map[string]any
			}
		}
		// A new version is not readable at once: the first read answers as
		// Cloudflare does while it propagates.
		if lag := apiJSON(t, srv, "GET", base+"w/versions/"+res.DeploymentID, nil); lag.Status != http.StatusNotFound || lag.code() != 100146 {
			t.Fatalf("first read of a new version = %d %v, want 404 100146", lag.Status, lag.Errors)
		}
		apiJSON(t, srv, "GET", base+"w/versions/"+res.DeploymentID, nil).decode(t, &v)
		var sawNS, sawSecret bool
		for _, b := range v.Resources.Bindings {
			if b["type"] == "durable_object_namespace" && b["namespace_id"] == ns1 {
				sawNS = true
			}
			if b["type"] == "secret_text" {
				sawSecret = b["name"] == "TOKEN" && b["text"] == nil
			}
		}
		if !sawNS || !sawSecret {
			t.Errorf("version bindings = %v", v.Resources.Bindings)
		}
		var svc struct {
			DefaultEnvironment struct {
				Script struct {
					MigrationTag string `json:"migration_tag"`
				}
			} `json:"default_environment"`
		}
		apiJSON(t, srv, "GET", "/accounts/"+apiAcct+"/workers/services/w", nil).decode(t, &svc)
		if svc.DefaultEnvironment.Script.MigrationTag != "v1" {
			t.Errorf("service migration_tag = %q", svc.DefaultEnvironment.Script.MigrationTag)
		}

		// A wrong old_tag is refused; no migration keeps the namespace and the secret.
		if r := upload(t, srv, srv.Token(), "w", map[string]any{"bindings": []any{do}, "migrations": map[string]any{"old_tag": "v0", "new_tag": "v2"}}); r.code() != 10079 {
			t.Errorf("wrong old_tag: code %d, want 10079", r.code())
		}
		vars["text"] = "b"
		if r := upload(t, srv, srv.Token(), "w", map[string]any{"bindings": []any{do, vars}, "keep_bindings": []string{"secret_text", "secret_key"}}); !r.Success {
			t.Fatalf("re-upload: %v", r.Errors)
		}
		srv.View(func(st *State) {
			sc := st.Scripts["w"]
			if sc.DONamespaces()["Sandbox"] != ns1 || sc.Secrets["TOKEN"] != "s3cret" || sc.Env()["MODE"] != "b" || len(sc.Deployments) != 2 {
				t.Errorf("after re-upload: ns %q secrets %d MODE %q deployments %d", sc.DONamespaces()["Sandbox"], len(sc.Secrets), sc.Env()["MODE"], len(sc.Deployments))
			}
		})

		// Without keep_bindings an upload drops what it does not name.
		other := newAPI(t, ScenarioReady)
		upload(t, other, other.Token(), "x", map[string]any{"bindings": []any{secret, vars}})
		upload(t, other, other.Token(), "x", map[string]any{"keep_bindings": []string{"plain_text"}})
		other.View(func(st *State) {
			sc := st.Scripts["x"]
			if len(sc.Secrets) != 0 || sc.Env()["MODE"] != "b" {
				t.Errorf("keep_bindings plain_text: secrets %d MODE %q", len(sc.Secrets), sc.Env()["MODE"])
			}
		})

		// Settings PATCH (the older bulk-secrets form) with inherit.
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("settings", `{"bindings":[{"type":"inherit","name":"Sandbox"},{"type":"inherit","name":"MODE"},{"type":"inherit","name":"TOKEN"},{"type":"secret_text","name":"NEW","text":"n"}]}`)
		_ = mw.Close()
		if r := apiDo(t, srv, srv.Token(), "PATCH", base+"w/settings", mw.FormDataContentType(), &buf); !r.Success {
			t.Fatalf("settings patch: %v", r.Errors)
		}
		srv.View(func(st *State) {
			sc := st.Scripts["w"]
			if sc.Secrets["NEW"] != "n" || sc.Secrets["TOKEN"] != "s3cret" || sc.DONamespaces()["Sandbox"] != ns1 {
				t.Errorf("after settings patch: %+v", sc.Secrets)
			}
		})

		// Delete removes the script and its namespaces, keeps the bucket.
		if r := apiJSON(t, srv, "DELETE", base+"w", nil); !r.Success {
			t.Fatalf("delete: %v", r.Errors)
		}
		srv.View(func(st *State) {
			if st.Scripts["w"] != nil || st.DONamespaces[ns1] != nil || st.Buckets["data"] == nil {
				t.Errorf("after delete: script %v ns %v bucket %v", st.Scripts["w"] != nil, st.DONamespaces[ns1] != nil, st.Buckets["data"] != nil)
			}
		})
		if r := apiJSON(t, srv, "GET", base+"w/versions", nil); r.code() != 10007 {
			t.Errorf("versions of a deleted script: code %d", r.code())
		}
	})
}

func TestSecretsAPI(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	base := "/accounts/" + apiAcct + "/workers/scripts/"
	if r := apiJSON(t, srv, "PUT", base+"none/secrets", map[string]string{"name": "A", "text": "x", "type": "secret_text"}); r.code() != 10007 || r.Status != 404 {
		t.Errorf("secret on a missing script: %d %d", r.Status, r.code())
	}
	upload(t, srv, srv.Token(), "w", map[string]any{"bindings": []any{map[string]any{"type": "plain_text", "name": "MODE", "text": "a"}}})
	tests := []struct {
		name, method, path, ct, body string
		code                         int
	}{
		{"put", "PUT", "w/secrets", "application/json", `{"name":"A","text":"alpha","type":"secret_text"}`, 0},
		{"put over a var", "PUT", "w/secrets", "application/json", `{"name":"MODE","text":"x","type":"secret_text"}`, 10053},
		{"get", "GET", "w/secrets/A", "", "", 0},
		{"get missing", "GET", "w/secrets/NOPE", "", "", 10056},
		{"bulk wrong content type", "PATCH", "w/secrets-bulk", "application/json", `{"secrets":{}}`, 10021},
		{"bulk", "PATCH", "w/secrets-bulk", "application/merge-patch+json", `{"secrets":{"B":{"name":"B","text":"beta","type":"secret_text"},"A":null}}`, 0},
		{"bulk over a var", "PATCH", "w/secrets-bulk", "application/merge-patch+json", `{"secrets":{"MODE":{"name":"MODE","text":"x"}}}`, 10053},
		{"delete missing", "DELETE", "w/secrets/A?url_encoded=true", "", "", 10056},
		{"delete", "DELETE", "w/secrets/B?url_encoded=true", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := apiDo(t, srv, srv.Token(), tt.method, base+tt.path, tt.ct, strings.NewReader(tt.body))
			if r.code() != tt.code || r.Success != (tt.code == 0) {
				t.Errorf("code %d success %v, want %d: %v", r.code(), r.Success, tt.code, r.Errors)
			}
		})
	}
	srv.View(func(st *State) {
		if n := len(st.Scripts["w"].Secrets); n != 0 {
			t.Errorf("secrets left: %d", n)
		}
	})
	// A version uploaded but not deployed blocks secret changes (10215).
	ct, body := uploadForm(t, map[string]any{"keep_bindings": []string{"plain_text"}})
	if r := apiDo(t, srv, srv.Token(), "POST", base+"w/versions", ct, body); !r.Success {
		t.Fatalf("version upload: %v", r.Errors)
	}
	if r := apiJSON(t, srv, "PUT", base+"w/secrets", map[string]string{"name": "C", "text": "x"}); r.code() != 10215 {
		t.Errorf("secret with an undeployed version: code %d, want 10215", r.code())
	}
}

func TestAssetsUpload(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	files := map[string][]byte{"/index.html": []byte("<h1>hi</h1>"), "/a.css": []byte("body{}")}
	manifest := map[string]account.AssetEntry{}
	for p, c := range files {
		manifest[p] = account.AssetEntry{Hash: AssetHash(p, c), Size: int64(len(c))}
	}
	session := func() (jwt string, buckets [][]string) {
		var res struct {
			JWT     string
			Buckets [][]string
		}
		apiJSON(t, srv, "POST", "/accounts/"+apiAcct+"/workers/scripts/w/assets-upload-session", map[string]any{"manifest": manifest}).decode(t, &res)
		return res.JWT, res.Buckets
	}
	jwt, buckets := session()
	if len(buckets) != 1 || len(buckets[0]) != 2 {
		t.Fatalf("buckets = %v, want one bucket of 2", buckets)
	}
	send := func(token string, parts map[string][]byte) apiResp {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for h, c := range parts {
			fw, _ := mw.CreateFormFile(h, h)
			_, _ = fw.Write([]byte(base64.StdEncoding.EncodeToString(c)))
		}
		_ = mw.Close()
		return apiDo(t, srv, token, "POST", "/accounts/"+apiAcct+"/workers/assets/upload?base64=true", mw.FormDataContentType(), &buf)
	}
	h := manifest["/index.html"].Hash
	if r := send(srv.Token(), map[string][]byte{h: files["/index.html"]}); r.Status != 401 {
		t.Errorf("an API token on the upload endpoint: %d, want 401", r.Status)
	}
	if r := send(jwt, map[string][]byte{h: []byte("tampered")}); r.code() != 10021 {
		t.Errorf("content not matching its hash: code %d", r.code())
	}
	r := send(jwt, map[string][]byte{h: files["/index.html"]})
	var part struct{ JWT string }
	r.decode(t, &part)
	if part.JWT != "" {
		t.Errorf("completion token before every asset arrived")
	}
	if r := upload(t, srv, srv.Token(), "w", map[string]any{"assets": map[string]any{"jwt": jwt}}); r.code() != 10021 {
		t.Errorf("upload JWT used as completion token: code %d", r.code())
	}
	c := manifest["/a.css"].Hash
	send(jwt, map[string][]byte{c: files["/a.css"]}).decode(t, &part)
	if part.JWT == "" {
		t.Fatal("no completion token after the last bucket")
	}
	if r := upload(t, srv, srv.Token(), "w", map[string]any{"assets": map[string]any{"jwt": part.JWT, "config": map[string]any{"html_handling": "auto-trailing-slash"}},
		"bindings": []any{map[string]any{"type": "assets", "name": "ASSETS"}}}); !r.Success {
		t.Fatalf("upload with assets: %v", r.Errors)
	}
	srv.View(func(st *State) {
		if got := st.Scripts["w"].Assets.Manifest["/a.css"]; got != c {
			t.Errorf("manifest /a.css = %q", got)
		}
	})
	// The account now holds both: a new session asks for nothing and its
	// token is already the completion token.
	jwt2, buckets2 := session()
	if len(buckets2) != 0 {
		t.Errorf("second session buckets = %v", buckets2)
	}
	if r := upload(t, srv, srv.Token(), "w", map[string]any{"assets": map[string]any{"jwt": jwt2}}); !r.Success {
		t.Errorf("completion token of an empty session: %v", r.Errors)
	}
}

func TestR2API(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioReady)
	base := "/accounts/" + apiAcct + "/r2/buckets"
	for _, n := range []string{"b-1", "b-2", "b-3"} {
		if r := apiJSON(t, srv, "POST", base, map[string]string{"name": n, "locationHint": "enam"}); !r.Success {
			t.Fatalf("create %s: %v", n, r.Errors)
		}
	}
	tests := []struct {
		name, method, path string
		body               any
		status, code       int
	}{
		{"exists", "POST", base, map[string]string{"name": "b-1"}, 409, 10004},
		{"bad name", "POST", base, map[string]string{"name": "B_1"}, 400, 10005},
		{"bad location", "POST", base, map[string]string{"name": "b-9", "locationHint": "mars"}, 400, 10040},
		{"get", "GET", base + "/b-2", nil, 200, 0},
		{"get missing", "GET", base + "/nope", nil, 404, 10006},
		{"delete missing", "DELETE", base + "/nope", nil, 404, 10006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := apiJSON(t, srv, tt.method, tt.path, tt.body)
			if r.Status != tt.status || r.code() != tt.code {
				t.Errorf("got %d code %d, want %d code %d", r.Status, r.code(), tt.status, tt.code)
			}
		})
	}
	// Cursor pagination.
	var names []string
	cursor := ""
	for range 5 {
		r := apiJSON(t, srv, "GET", base+"?per_page=2&cursor="+cursor, nil)
		var page struct {
			Buckets []struct{ Name, Location string }
		}
		r.decode(t, &page)
		for _, b := range page.Buckets {
			names = append(names, b.Name+"@"+b.Location)
		}
		cursor, _ = r.ResultInfo["cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if strings.Join(names, ",") != "b-1@ENAM,b-2@ENAM,b-3@ENAM" {
		t.Errorf("paged list = %v", names)
	}
	srv.Update(func(st *State) { st.Buckets["b-3"].Objects = 1 })
	if r := apiJSON(t, srv, "DELETE", base+"/b-3", nil); r.code() != 10008 {
		t.Errorf("delete non-empty: code %d", r.code())
	}
	if r := apiJSON(t, srv, "DELETE", base+"/b-1", nil); !r.Success {
		t.Errorf("delete: %v", r.Errors)
	}

	// Objects: put, list, get; a bucket holding one cannot be deleted.
	if r := apiDo(t, srv, srv.Token(), "PUT", base+"/b-2/objects/dir/a.txt", "text/plain", strings.NewReader("hello")); !r.Success {
		t.Fatalf("put object: %v", r.Errors)
	}
	var objs []struct {
		Key  string
		Size int
	}
	apiJSON(t, srv, "GET", base+"/b-2/objects?per_page=10", nil).decode(t, &objs)
	if len(objs) != 1 || objs[0].Key != "dir/a.txt" || objs[0].Size != 5 {
		t.Errorf("objects = %+v", objs)
	}
	req, _ := http.NewRequest("GET", srv.APIURL()+base+"/b-2/objects/dir/a.txt", nil)
	req.Header.Set("Authorization", "Bearer "+srv.Token())
	if res, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "hello" || res.Header.Get("Content-Type") != "text/plain" {
			t.Errorf("get object = %q %q", b, res.Header.Get("Content-Type"))
		}
	}
	if r := apiJSON(t, srv, "DELETE", base+"/b-2", nil); r.code() != 10008 {
		t.Errorf("delete a bucket with an object: code %d", r.code())
	}
	apiJSON(t, srv, "DELETE", base+"/b-2/objects/dir/a.txt", nil)
	if r := apiJSON(t, srv, "DELETE", base+"/b-2", nil); !r.Success {
		t.Errorf("delete emptied bucket: %v", r.Errors)
	}

	nsrv := newAPI(t, ScenarioNewAccount)
	r := apiJSON(t, nsrv, "POST", base, map[string]string{"name": "b-1"})
	if r.code() != 10042 || r.Errors[0].Message != "Please enable R2 through the Cloudflare Dashboard." {
		t.Errorf("R2 disabled: %v", r.Errors)
	}
}

func TestFaultsAndLog(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	srv := New(Options{AccountID: apiAcct, Log: &log, Faults: FaultOptions{FailAt: []int64{2, 4}, Kinds: []string{Fault429}}}).Start()
	defer srv.Close()
	verify := func() (int, string, error) {
		req, _ := http.NewRequest("GET", srv.APIURL()+"/user/tokens/verify", nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("Retry-After"), nil
	}
	var got []string
	for i := 0; i < 5; i++ {
		// Control requests are never faulted and do not count.
		if res, err := http.Get(srv.URL() + "/__emulator/state"); err != nil || res.StatusCode != 200 {
			t.Fatalf("state: %v", err)
		} else {
			res.Body.Close()
		}
		st, ra, err := verify()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", st, ra))
	}
	if strings.Join(got, " ") != "200: 429:1 200: 429:1 200:" {
		t.Errorf("statuses = %v", got)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("log has %d lines, want 5 (control requests unlogged)", len(lines))
	}
	var e logEntry
	_ = json.Unmarshal([]byte(lines[1]), &e)
	if e.Fault != Fault429 || e.Status != 429 || e.Method != "GET" || e.Path != "/client/v4/user/tokens/verify" {
		t.Errorf("faulted log line = %+v", e)
	}

	for _, kind := range AllFaultKinds {
		t.Run(kind, func(t *testing.T) {
			srv.SetFaults(FaultOptions{Rate: 1, Kinds: []string{kind}})
			st, _, err := verify()
			if kind == FaultDrop {
				if err == nil {
					t.Errorf("a dropped connection answered %d", st)
				}
				return
			}
			if err != nil || fmt.Sprint(st) != kind {
				t.Errorf("status %d err %v, want %s", st, err, kind)
			}
		})
	}
	// Registry requests are faulted like API requests.
	srv.SetFaults(FaultOptions{Rate: 1, Kinds: []string{Fault503}})
	if res, err := http.Get(srv.URL() + "/v2/"); err != nil || res.StatusCode != 503 {
		t.Errorf("registry under faults: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	srv.SetFaults(FaultOptions{})
	if res, err := http.Get(srv.URL() + "/v2/"); err != nil || res.StatusCode != 401 {
		t.Errorf("registry without credentials: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// The same seed gives the same sequence.
	seq := func(seed uint64) string {
		f := newFaultInjector(FaultOptions{Rate: 0.5, Seed: seed})
		var b strings.Builder
		for i := int64(1); i <= 40; i++ {
			b.WriteString(f.decide(i) + ",")
		}
		return b.String()
	}
	if a, b := seq(7), seq(7); a != b || a == seq(8) {
		t.Errorf("fault sequences are not repeatable by seed")
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	srv := New(Options{AccountID: apiAcct, Log: &log}).Start()
	defer srv.Close()
	upload(t, srv, srv.Token(), "w", map[string]any{"bindings": []any{map[string]any{"type": "secret_text", "name": "S", "text": "upload-secret-value"}}})
	apiJSON(t, srv, "PUT", "/accounts/"+apiAcct+"/workers/scripts/w/secrets", map[string]string{"name": "T", "text": "put-secret-value"})
	if strings.Contains(log.String(), "secret-value") {
		t.Errorf("the log holds a secret value:\n%s", log.String())
	}
}

func TestControlAndPersistence(t *testing.T) {
	t.Parallel()
	srv := newAPI(t, ScenarioNewAccount)
	res, err := http.Post(srv.URL()+"/__emulator/account", "application/json", strings.NewReader(`{"workers_paid":true,"r2_enabled":true,"subdomain":"mine"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("account patch: %v", err)
	}
	res.Body.Close()
	if r := apiJSON(t, srv, "POST", "/accounts/"+apiAcct+"/r2/buckets", map[string]string{"name": "after-enable"}); !r.Success {
		t.Errorf("R2 after enabling: %v", r.Errors)
	}
	res, err = http.Post(srv.URL()+"/__emulator/tokens", "application/json", strings.NewReader(`{"value":"narrow","permissions":["Workers R2 Storage Read"]}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("token: %v", err)
	}
	res.Body.Close()
	if r := apiDo(t, srv, "narrow", "GET", "/accounts/"+apiAcct+"/r2/buckets", "", nil); !r.Success {
		t.Errorf("narrow token read: %v", r.Errors)
	}
	if r := apiDo(t, srv, "narrow", "GET", "/accounts/"+apiAcct+"/workers/scripts", "", nil); r.code() != 10000 {
		t.Errorf("narrow token on scripts: code %d", r.code())
	}

	path := filepath.Join(t.TempDir(), "state.json")
	if err := srv.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v %v", fi.Mode(), err)
	}
	other := New(Options{AccountID: apiAcct, Token: srv.Token()})
	if err := other.Load(path); err != nil {
		t.Fatal(err)
	}
	other.View(func(st *State) {
		if st.Buckets["after-enable"] == nil || st.Account.Subdomain != "mine" || st.DONamespaces == nil {
			t.Errorf("loaded state lacks what was saved")
		}
	})
	if err := other.Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("loading a missing file: %v", err)
	}
}

func TestAssetsJWTExpires(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := New(Options{AccountID: apiAcct, Now: clock}).Start()
	defer srv.Close()
	content := []byte("x")
	manifest := map[string]account.AssetEntry{"/x.txt": {Hash: AssetHash("/x.txt", content), Size: 1}}
	var res struct{ JWT string }
	apiJSON(t, srv, "POST", "/accounts/"+apiAcct+"/workers/scripts/w/assets-upload-session", map[string]any{"manifest": manifest}).decode(t, &res)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile(manifest["/x.txt"].Hash, manifest["/x.txt"].Hash)
	_, _ = fw.Write([]byte(base64.StdEncoding.EncodeToString(content)))
	_ = mw.Close()
	if r := apiDo(t, srv, res.JWT, "POST", "/accounts/"+apiAcct+"/workers/assets/upload?base64=true", mw.FormDataContentType(), &buf); r.Status != 401 {
		t.Errorf("an expired upload JWT: %d, want 401", r.Status)
	}
}
