package cfemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfemu/account"
)

// Error codes and messages of the Workers API (package account).
const (
	codeWorkerNotFound  = account.CodeWorkerNotFound
	codeValidation      = account.CodeValidation
	codeVersionNotFound = account.CodeVersionNotFound
	msgWorkerNotFound   = account.MsgWorkerNotFound
	msgVersionNotFound  = account.MsgVersionNotFound
)

func (s *Server) registerWorkers() {
	r, w := PermWorkersScriptsRead, PermWorkersScriptsWrite
	a := "/accounts/{account_id}/workers"
	s.handle("GET", a+"/subdomain", s.guarded(r, s.getAccountSubdomain))
	s.handle("PUT", a+"/subdomain", s.guarded(w, s.putAccountSubdomain))
	s.handle("GET", a+"/subdomains/{name}", s.guarded(r, s.subdomainAvailability))
	s.handle("GET", a+"/scripts", s.guarded(r, s.listScripts))
	s.handle("PUT", a+"/scripts/{script}", s.guarded(w, s.uploadScript))
	s.handle("GET", a+"/scripts/{script}", s.guarded(r, s.withScript(s.getScript)))
	s.handle("DELETE", a+"/scripts/{script}", s.guarded(w, s.withScript(s.deleteScript)))
	s.handle("GET", a+"/services/{script}", s.guarded(r, s.withScript(s.getService)))
	s.handle("POST", a+"/scripts/{script}/versions", s.guarded(w, s.withScript(s.uploadVersion)))
	s.handle("GET", a+"/scripts/{script}/versions", s.guarded(r, s.withScript(s.listVersions)))
	s.handle("GET", a+"/scripts/{script}/versions/{version}", s.guarded(r, s.withScript(s.getVersion)))
	s.handle("GET", a+"/scripts/{script}/deployments", s.guarded(r, s.withScript(s.listDeployments)))
	s.handle("POST", a+"/scripts/{script}/deployments", s.guarded(w, s.withScript(s.createDeployment)))
	s.handle("GET", a+"/scripts/{script}/settings", s.guarded(r, s.withScript(s.getSettings)))
	s.handle("PATCH", a+"/scripts/{script}/settings", s.guarded(w, s.withScript(s.patchSettings)))
	s.handle("GET", a+"/scripts/{script}/script-settings", s.guarded(r, s.withScript(s.getScriptSettings)))
	s.handle("PATCH", a+"/scripts/{script}/script-settings", s.guarded(w, s.withScript(s.patchScriptSettings)))
	s.handle("GET", a+"/scripts/{script}/subdomain", s.guarded(r, s.withScript(s.getScriptSubdomain)))
	s.handle("POST", a+"/scripts/{script}/subdomain", s.guarded(w, s.withScript(s.postScriptSubdomain)))
	s.handle("DELETE", a+"/scripts/{script}/subdomain", s.guarded(w, s.withScript(s.deleteScriptSubdomain)))
	s.handle("GET", a+"/durable_objects/namespaces", s.guarded(r, s.listDONamespaces))
	s.handle("GET", a+"/workers/{worker}", s.guarded(r, s.getWorker))
	s.handle("DELETE", a+"/services/{script}", s.guarded(w, s.withScript(s.deleteScript)))
	s.handle("GET", a+"/scripts/{script}/references", s.guarded(r, s.withScript(s.scriptReferences)))
	// KV is not modelled: the account has no namespaces (wrangler delete
	// looks for a Workers Sites namespace).
	s.handle("GET", "/accounts/{account_id}/storage/kv/namespaces", s.guarded("", func(w http.ResponseWriter, r *http.Request, _ *Token) {
		paged(w, r, []any{})
	}))
	s.handle("GET", a+"/tails/by-consumer/{script}", s.guarded(r, func(w http.ResponseWriter, _ *http.Request, _ *Token) {
		ok(w, http.StatusOK, []any{})
	}))
}

// scriptReferences answers what depends on the script (wrangler delete
// asks before deleting): Durable Object bindings to its classes.
func (s *Server) scriptReferences(w http.ResponseWriter, _ *http.Request, sc *Script) {
	dos := []map[string]string{}
	for _, other := range s.state.Scripts {
		for _, b := range other.Bindings {
			if b.Type == "durable_object_namespace" && (b.ScriptName == sc.Name || (b.ScriptName == "" && other.Name == sc.Name)) {
				dos = append(dos, map[string]string{"namespace_id": b.NamespaceID, "name": b.Name, "service": other.Name})
			}
		}
	}
	sort.Slice(dos, func(i, j int) bool { return dos[i]["service"]+dos[i]["name"] < dos[j]["service"]+dos[j]["name"] })
	ok(w, http.StatusOK, map[string]any{
		"services":           map[string]any{"incoming": []any{}, "outgoing": []any{}, "pages_function": false},
		"durable_objects":    dos,
		"dispatch_outbounds": []any{},
	})
}

// getWorker answers the newer Workers API object (GET /workers/workers/{id
// or name}); wrangler reads its subdomain.enabled before deploying triggers.
func (s *Server) getWorker(w http.ResponseWriter, r *http.Request, _ *Token) {
	key := r.PathValue("worker")
	var sc *Script
	for _, c := range s.state.Scripts {
		if c.Name == key || c.ID == key {
			sc = c
		}
	}
	if sc == nil {
		fail(w, http.StatusNotFound, codeWorkerNotFound, msgWorkerNotFound)
		return
	}
	obs := rawOrNil(sc.Observability)
	if obs == nil {
		obs = map[string]any{"enabled": false}
	}
	ok(w, http.StatusOK, map[string]any{
		"id": sc.ID, "name": sc.Name, "created_on": sc.CreatedOn, "updated_on": sc.ModifiedOn,
		"logpush": sc.Logpush, "observability": obs, "tags": nonNil(sc.Tags), "tail_consumers": []any{},
		"subdomain": map[string]bool{"enabled": sc.WorkersDevEnabled, "previews_enabled": sc.PreviewsEnabled},
	})
}

// withScript resolves {script}, answering 404 10007 when it does not exist.
func (s *Server) withScript(h func(w http.ResponseWriter, r *http.Request, sc *Script)) func(http.ResponseWriter, *http.Request, *Token) {
	return func(w http.ResponseWriter, r *http.Request, _ *Token) {
		sc := s.state.Scripts[r.PathValue("script")]
		if sc == nil {
			fail(w, http.StatusNotFound, codeWorkerNotFound, msgWorkerNotFound)
			return
		}
		if sc.Secrets == nil { // scripts seeded by tests through Update
			sc.Secrets = map[string]string{}
		}
		h(w, r, sc)
	}
}

// --- account subdomain ---

func (s *Server) getAccountSubdomain(w http.ResponseWriter, _ *http.Request, _ *Token) {
	if s.state.Account.Subdomain == "" {
		fail(w, http.StatusNotFound, 10007, "This account does not have a workers.dev subdomain registered")
		return
	}
	ok(w, http.StatusOK, map[string]string{"subdomain": s.state.Account.Subdomain})
}

func (s *Server) putAccountSubdomain(w http.ResponseWriter, r *http.Request, _ *Token) {
	var body struct {
		Subdomain string `json:"subdomain"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if err := s.state.SetSubdomain(body.Subdomain); err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, map[string]string{"subdomain": body.Subdomain})
}

// TakeSubdomain makes another account hold the workers.dev name, as when
// someone registers it between a check that found it free and its use.
func (s *Server) TakeSubdomain(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.TakeSubdomain(name)
}

// subdomainAvailability answers as the dashboard's check does: 10032 when
// the name is free, 10031 when it is not.
func (s *Server) subdomainAvailability(w http.ResponseWriter, r *http.Request, _ *Token) {
	name := r.PathValue("name")
	if s.state.SubdomainTaken(name) || name == s.state.Account.Subdomain {
		fail(w, http.StatusConflict, 10031, "Subdomain is unavailable")
		return
	}
	fail(w, http.StatusConflict, 10032, "Subdomain is available")
}

// --- script upload ---

// writeFailure answers a model's refusal (account.Error) with its status,
// code and message; any other error as a validation failure.
func writeFailure(w http.ResponseWriter, err error) {
	var f *account.Error
	if errors.As(err, &f) {
		fail(w, f.Status, f.Code, "%s", f.Message)
		return
	}
	fail(w, http.StatusBadRequest, codeValidation, "%s", err.Error())
}

func invalidUpload(format string, args ...any) error {
	return &account.Error{Status: http.StatusBadRequest, Code: codeValidation, Message: fmt.Sprintf(format, args...)}
}

// readUpload parses a multipart Worker upload: the metadata part and the module parts.
func readUpload(r *http.Request) (*account.Metadata, []Module, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, nil, invalidUpload("Expected a multipart/form-data body with a metadata part")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var meta *account.Metadata
	var mods []Module
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, invalidUpload("malformed multipart body: %v", err)
		}
		b, _ := io.ReadAll(p)
		if p.FormName() == "metadata" {
			meta = &account.Metadata{}
			if err := json.Unmarshal(b, meta); err != nil {
				return nil, nil, invalidUpload("Unexpected token in metadata JSON: %v", err)
			}
			continue
		}
		sum := sha256.Sum256(b)
		// The part's name is the module's path ("assets/chunk-x.js", as
		// wrangler's create-worker-upload-form.ts sends it); FileName would
		// drop the directory, which the entry's imports name.
		name := p.FormName()
		if name == "" {
			name = p.FileName()
		}
		mods = append(mods, Module{Name: name, ContentType: p.Header.Get("Content-Type"), Size: len(b), SHA256: hex.EncodeToString(sum[:])})
	}
	if meta == nil {
		return nil, nil, invalidUpload("No metadata part was found in the upload")
	}
	return meta, mods, nil
}

func (s *Server) uploadScript(w http.ResponseWriter, r *http.Request, _ *Token) {
	meta, mods, err := readUpload(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	sc, v, err := s.state.UploadScript(s.opts.Now(), r.PathValue("script"), meta, mods)
	if err != nil {
		writeFailure(w, err)
		return
	}
	res := s.scriptJSON(sc)
	res["deployment_id"] = v.ID
	res["startup_time_ms"] = 7
	res["pipeline_hash"] = nil
	res["mutable_pipeline_id"] = nil
	ok(w, http.StatusOK, res)
}

// scriptJSON is the script object of list and upload responses.
func (s *Server) scriptJSON(sc *Script) map[string]any {
	return map[string]any{
		"id": sc.Name, "tag": sc.ID, "etag": sc.Etag, "handlers": []string{"fetch"}, "named_handlers": []any{},
		"created_on": sc.CreatedOn, "modified_on": sc.ModifiedOn, "usage_model": "standard",
		"compatibility_date": sc.CompatibilityDate, "compatibility_flags": nonNil(sc.CompatibilityFlags),
		"migration_tag": nullable(sc.MigrationTag), "logpush": sc.Logpush, "has_assets": sc.Assets != nil,
		"has_modules": true, "tail_consumers": nil, "last_deployed_from": "wrangler", "tags": nonNil(sc.Tags),
		"observability": rawOrNil(sc.Observability),
	}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func rawOrNil(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (s *Server) listScripts(w http.ResponseWriter, _ *http.Request, _ *Token) {
	names := make([]string, 0, len(s.state.Scripts))
	for n := range s.state.Scripts {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		out = append(out, s.scriptJSON(s.state.Scripts[n]))
	}
	ok(w, http.StatusOK, out)
}

// getScript answers the script's metadata (the real endpoint returns the
// code; the emulator keeps only module digests).
func (s *Server) getScript(w http.ResponseWriter, _ *http.Request, sc *Script) {
	res := s.scriptJSON(sc)
	res["main_module"] = sc.MainModule
	res["modules"] = sc.Modules
	ok(w, http.StatusOK, res)
}

// deleteScript removes the script with what belongs to it alone: its
// versions, deployments, secrets, workers.dev route, the Durable Object
// namespaces it defines (and their objects) and the deployed instance. R2
// buckets, uploaded asset content, container applications, Access
// applications and the account subdomain stay, as on Cloudflare.
func (s *Server) deleteScript(w http.ResponseWriter, r *http.Request, sc *Script) {
	if err := s.state.DeleteScript(sc.Name, r.URL.Query().Get("force") == "true"); err != nil {
		writeFailure(w, err)
		return
	}
	delete(s.state.Runtimes, sc.Name) // the deployed instance goes with it
	ok(w, http.StatusOK, nil)
}

// getService answers /workers/services/{name}: wrangler reads
// default_environment.script.migration_tag from it.
func (s *Server) getService(w http.ResponseWriter, _ *http.Request, sc *Script) {
	script := s.scriptJSON(sc)
	ok(w, http.StatusOK, map[string]any{
		"id": sc.Name, "created_on": sc.CreatedOn, "modified_on": sc.ModifiedOn,
		"default_environment": map[string]any{
			"environment": "production", "created_on": sc.CreatedOn, "modified_on": sc.ModifiedOn,
			"script": script,
		},
		"environments": []map[string]any{{"environment": "production", "created_on": sc.CreatedOn, "modified_on": sc.ModifiedOn}},
	})
}

// --- versions and deployments ---

// versionLag is how many reads of a new version answer 100146 first.
func (s *Server) versionLag() int {
	switch {
	case s.opts.VersionLag < 0:
		return 0
	case s.opts.VersionLag == 0:
		return 1
	}
	return s.opts.VersionLag
}

func (s *Server) uploadVersion(w http.ResponseWriter, r *http.Request, sc *Script) {
	meta, mods, err := readUpload(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	v, err := s.state.UploadVersion(s.opts.Now(), sc, meta, mods)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, s.versionJSON(sc, v))
}

func (s *Server) versionJSON(sc *Script, v *ScriptVersion) map[string]any {
	bindings := []any{}
	for _, b := range v.Bindings {
		bindings = append(bindings, b)
	}
	names := make([]string, 0, len(v.Secrets))
	for k := range v.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		bindings = append(bindings, map[string]string{"type": "secret_text", "name": k})
	}
	if v.Assets != nil {
		// the assets binding is listed with the others
		_ = v.Assets
	}
	ann := map[string]string{"workers/triggered_by": "upload"}
	for k, val := range v.Annotations {
		ann[k] = val
	}
	return map[string]any{
		"id": v.ID, "number": v.Number,
		"metadata": map[string]any{"created_on": v.CreatedOn, "modified_on": v.CreatedOn, "source": v.Source,
			"author_id": "u" + s.state.Account.ID[:min(len(s.state.Account.ID), 31)], "author_email": s.state.Account.Email, "has_preview": false},
		"annotations": ann,
		"resources": map[string]any{
			"bindings": bindings,
			"script":   map[string]any{"etag": sc.Etag, "handlers": []string{"fetch"}, "last_deployed_from": "wrangler"},
			"script_runtime": map[string]any{"compatibility_date": v.CompatibilityDate, "compatibility_flags": nonNil(v.CompatibilityFlags),
				"usage_model": "standard", "limits": map[string]any{"cpu_ms": 30000}},
		},
		"startup_time_ms": 7,
	}
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request, sc *Script) {
	items := []map[string]any{}
	for i := len(sc.Versions) - 1; i >= 0; i-- {
		v := s.versionJSON(sc, sc.Versions[i])
		delete(v, "resources")
		items = append(items, v)
	}
	ok(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request, sc *Script) {
	v, err := account.ReadVersion(sc, r.PathValue("version"), s.versionLag())
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, s.versionJSON(sc, v))
}

func deploymentJSON(d *ScriptDeployment) map[string]any {
	return map[string]any{"id": d.ID, "source": d.Source, "strategy": d.Strategy, "author_email": d.AuthorEmail,
		"created_on": d.CreatedOn, "annotations": d.Annotations, "versions": d.Versions}
}

func (s *Server) listDeployments(w http.ResponseWriter, _ *http.Request, sc *Script) {
	out := []map[string]any{}
	for i := len(sc.Deployments) - 1; i >= 0; i-- {
		out = append(out, deploymentJSON(sc.Deployments[i]))
	}
	ok(w, http.StatusOK, map[string]any{"deployments": out})
}

// createDeployment deploys one version at 100% (the emulator does not
// split traffic: a split is refused).
func (s *Server) createDeployment(w http.ResponseWriter, r *http.Request, sc *Script) {
	var body struct {
		Strategy    string              `json:"strategy"`
		Versions    []DeploymentVersion `json:"versions"`
		Annotations map[string]string   `json:"annotations"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	d, err := s.state.Deploy(s.opts.Now(), sc, body.Versions, body.Annotations)
	if err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, deploymentJSON(d))
}

// --- settings ---

func (s *Server) settingsJSON(sc *Script) map[string]any {
	bindings := []any{}
	for _, b := range sc.Bindings {
		bindings = append(bindings, b)
	}
	names := make([]string, 0, len(sc.Secrets))
	for k := range sc.Secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		bindings = append(bindings, map[string]string{"type": "secret_text", "name": k})
	}
	return map[string]any{
		"bindings": bindings, "compatibility_date": sc.CompatibilityDate, "compatibility_flags": nonNil(sc.CompatibilityFlags),
		"logpush": sc.Logpush, "observability": rawOrNil(sc.Observability), "placement": map[string]any{},
		"tail_consumers": nil, "usage_model": "standard", "limits": map[string]any{"cpu_ms": 30000}, "tags": nonNil(sc.Tags),
	}
}

func (s *Server) getSettings(w http.ResponseWriter, _ *http.Request, sc *Script) {
	ok(w, http.StatusOK, s.settingsJSON(sc))
}

// patchSettings applies the multipart "settings" part: bindings listed
// replace the script's (inherit keeps one, secret_text sets a secret),
// as wrangler's older `secret bulk` used it.
func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, sc *Script) {
	var raw []byte
	if mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "settings" {
				raw, _ = io.ReadAll(p)
			}
		}
	} else {
		raw, _ = io.ReadAll(r.Body)
	}
	var p account.SettingsPatch
	if err := json.Unmarshal(raw, &p); err != nil {
		fail(w, http.StatusBadRequest, 10026, "Could not parse the settings part: %v", err)
		return
	}
	if err := s.state.PatchSettings(s.opts.Now(), sc, p); err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, s.settingsJSON(sc))
}

func (s *Server) scriptSettingsJSON(sc *Script) map[string]any {
	return map[string]any{"logpush": sc.Logpush, "observability": rawOrNil(sc.Observability), "tail_consumers": nil, "tags": nonNil(sc.Tags)}
}

func (s *Server) getScriptSettings(w http.ResponseWriter, _ *http.Request, sc *Script) {
	ok(w, http.StatusOK, s.scriptSettingsJSON(sc))
}

func (s *Server) patchScriptSettings(w http.ResponseWriter, r *http.Request, sc *Script) {
	var p account.ScriptSettingsPatch
	if !decodeJSON(w, r, &p) {
		return
	}
	account.PatchScriptSettings(sc, p)
	ok(w, http.StatusOK, s.scriptSettingsJSON(sc))
}

// --- per-script workers.dev ---

func (s *Server) getScriptSubdomain(w http.ResponseWriter, _ *http.Request, sc *Script) {
	ok(w, http.StatusOK, map[string]bool{"enabled": sc.WorkersDevEnabled, "previews_enabled": sc.PreviewsEnabled})
}

func (s *Server) postScriptSubdomain(w http.ResponseWriter, r *http.Request, sc *Script) {
	var body struct {
		Enabled         *bool `json:"enabled"`
		PreviewsEnabled *bool `json:"previews_enabled"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if err := s.state.SetWorkersDev(sc, body.Enabled, body.PreviewsEnabled, r.Header.Get("Cloudflare-Workers-Script-Api-Date")); err != nil {
		writeFailure(w, err)
		return
	}
	ok(w, http.StatusOK, map[string]bool{"enabled": sc.WorkersDevEnabled, "previews_enabled": sc.PreviewsEnabled})
}

func (s *Server) deleteScriptSubdomain(w http.ResponseWriter, _ *http.Request, sc *Script) {
	sc.WorkersDevEnabled, sc.PreviewsEnabled = false, false
	ok(w, http.StatusOK, nil)
}

// --- Durable Object namespaces ---

func (s *Server) listDONamespaces(w http.ResponseWriter, r *http.Request, _ *Token) {
	items := []*DONamespace{}
	for _, n := range s.state.DONamespaces {
		items = append(items, n)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	paged(w, r, items)
}
