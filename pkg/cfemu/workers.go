package cfemu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Error codes of the Workers API.
const (
	codeWorkerNotFound    = 10007
	codeValidation        = 10021
	codeSubdomainRequired = 10063
	codeMigrationTag      = 10079
	codeR2BucketMissing   = 10085
	codeR2NotEnabled      = 10136
	codeBindingInUse      = 10053
	codeBindingNotFound   = 10056
)

const msgWorkerNotFound = "This Worker does not exist on your account."

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

// Env is the Worker's environment as its code sees it: plain_text vars and
// secrets by name.
func (sc *Script) Env() map[string]string {
	env := map[string]string{}
	for _, b := range sc.Bindings {
		if b.Type == "plain_text" {
			env[b.Name] = b.Text
		}
	}
	for k, v := range sc.Secrets {
		env[k] = v
	}
	return env
}

// DONamespaces lists the script's own Durable Object bindings as class name → namespace id.
func (sc *Script) DONamespaces() map[string]string {
	out := map[string]string{}
	for _, b := range sc.Bindings {
		if b.Type == "durable_object_namespace" && (b.ScriptName == "" || b.ScriptName == sc.Name) {
			out[b.ClassName] = b.NamespaceID
		}
	}
	return out
}

// --- account subdomain ---

var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

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
	if !subdomainRE.MatchString(body.Subdomain) {
		fail(w, http.StatusBadRequest, 10033, "Subdomain names must be 1-63 characters of a-z, 0-9 and '-', and must not start or end with '-'")
		return
	}
	if s.takenSubdomain(body.Subdomain) {
		fail(w, http.StatusConflict, 10031, "This subdomain is unavailable")
		return
	}
	s.state.Account.Subdomain = body.Subdomain
	ok(w, http.StatusOK, map[string]string{"subdomain": body.Subdomain})
}

// takenSubdomain reports names other accounts hold in the emulated world
// (a few fixed ones and those given to TakeSubdomain). s.mu is held.
func (s *Server) takenSubdomain(name string) bool {
	return name == "taken" || name == "cloudflare" || name == "workers" || s.takenSubdomains[name]
}

// TakeSubdomain makes another account hold the workers.dev name, as when
// someone registers it between a check that found it free and its use.
func (s *Server) TakeSubdomain(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.takenSubdomains == nil {
		s.takenSubdomains = map[string]bool{}
	}
	s.takenSubdomains[name] = true
}

// subdomainAvailability answers as the dashboard's check does: 10032 when
// the name is free, 10031 when it is not.
func (s *Server) subdomainAvailability(w http.ResponseWriter, r *http.Request, _ *Token) {
	name := r.PathValue("name")
	if s.takenSubdomain(name) || name == s.state.Account.Subdomain {
		fail(w, http.StatusConflict, 10031, "Subdomain is unavailable")
		return
	}
	fail(w, http.StatusConflict, 10032, "Subdomain is available")
}

// --- script upload ---

// workerMetadata is the upload's metadata part (wrangler's WorkerMetadata).
type workerMetadata struct {
	MainModule         string            `json:"main_module"`
	BodyPart           string            `json:"body_part"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Bindings           []json.RawMessage `json:"bindings"`
	KeepBindings       []string          `json:"keep_bindings"`
	KeepAssets         bool              `json:"keep_assets"`
	Migrations         *migrations       `json:"migrations"`
	Assets             *struct {
		JWT    string          `json:"jwt"`
		Config json.RawMessage `json:"config"`
	} `json:"assets"`
	Containers    json.RawMessage   `json:"containers"`
	Observability json.RawMessage   `json:"observability"`
	Logpush       *bool             `json:"logpush"`
	Tags          []string          `json:"tags"`
	Annotations   map[string]string `json:"annotations"`
}

type migrations struct {
	OldTag string          `json:"old_tag"`
	NewTag string          `json:"new_tag"`
	Steps  []migrationStep `json:"steps"`
	migrationStep
}

type migrationStep struct {
	NewClasses       []string `json:"new_classes"`
	NewSQLiteClasses []string `json:"new_sqlite_classes"`
	DeletedClasses   []string `json:"deleted_classes"`
	RenamedClasses   []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"renamed_classes"`
}

type apiFailure struct {
	status, code int
	msg          string
}

func (e *apiFailure) Error() string { return e.msg }

func failf(status, code int, format string, args ...any) *apiFailure {
	return &apiFailure{status, code, fmt.Sprintf(format, args...)}
}

func writeFailure(w http.ResponseWriter, err error) {
	if f, isAF := err.(*apiFailure); isAF {
		fail(w, f.status, f.code, "%s", f.msg)
		return
	}
	fail(w, http.StatusBadRequest, codeValidation, "%s", err.Error())
}

// readUpload parses a multipart Worker upload: the metadata part and the module parts.
func readUpload(r *http.Request) (*workerMetadata, []Module, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, nil, failf(http.StatusBadRequest, 10021, "Expected a multipart/form-data body with a metadata part")
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var meta *workerMetadata
	var mods []Module
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, failf(http.StatusBadRequest, 10021, "malformed multipart body: %v", err)
		}
		b, _ := io.ReadAll(p)
		if p.FormName() == "metadata" {
			meta = &workerMetadata{}
			if err := json.Unmarshal(b, meta); err != nil {
				return nil, nil, failf(http.StatusBadRequest, 10021, "Unexpected token in metadata JSON: %v", err)
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
		return nil, nil, failf(http.StatusBadRequest, 10021, "No metadata part was found in the upload")
	}
	return meta, mods, nil
}

// applyUpload validates an upload against the account and the existing
// script (nil for a new one) and returns the script as it would become.
// versioned is true for POST .../versions, which keeps previous bindings
// only when asked (keep_bindings, inherit) and may not migrate.
func (s *Server) applyUpload(name string, old *Script, meta *workerMetadata, mods []Module, versioned bool) (*Script, error) {
	now := s.opts.Now().UTC()
	main := meta.MainModule
	if main == "" {
		main = meta.BodyPart
	}
	if main == "" {
		return nil, failf(http.StatusBadRequest, 10021, "No such module: the upload must name its main module (main_module)")
	}
	if len(mods) > 0 && !slices.ContainsFunc(mods, func(m Module) bool { return m.Name == main }) {
		return nil, failf(http.StatusBadRequest, 10021, "Uncaught Error: No such module \"%s\".", main)
	}
	if old == nil && s.state.Account.Subdomain == "" {
		return nil, failf(http.StatusBadRequest, codeSubdomainRequired, "You need a workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu. Opening the Workers landing page for the first time will create a workers.dev subdomain automatically.")
	}
	sc := &Script{Name: name, ID: newID(), CreatedOn: now, Secrets: map[string]string{}}
	if old != nil {
		cp := *old
		sc = &cp
		sc.Secrets = map[string]string{}
	}
	sc.ModifiedOn = now
	sc.Etag = newID() + newID()
	sc.MainModule = main
	sc.Modules = mods
	sc.CompatibilityDate = meta.CompatibilityDate
	sc.CompatibilityFlags = meta.CompatibilityFlags
	if meta.Containers != nil {
		sc.Containers = meta.Containers
	} else {
		sc.Containers = nil
	}
	if meta.Observability != nil {
		sc.Observability = meta.Observability
	}
	if meta.Logpush != nil {
		sc.Logpush = *meta.Logpush
	}
	if meta.Tags != nil {
		sc.Tags = meta.Tags
	}

	// Migrations come first: a binding may name a class the upload creates.
	if meta.Migrations != nil {
		if versioned {
			return nil, failf(http.StatusBadRequest, 10211, "Version upload failed. You attempted to upload a version of a Worker that includes a Durable Object migration, but migrations must be fully applied via a non-versioned deployment. Refer to the documentation for more information.")
		}
		if err := s.migrate(sc, meta.Migrations); err != nil {
			return nil, err
		}
	}

	var oldBindings []Binding
	oldSecrets := map[string]string{}
	if old != nil {
		oldBindings = old.Bindings
		oldSecrets = old.Secrets
	}
	keep := map[string]bool{}
	for _, t := range meta.KeepBindings {
		keep[t] = true
	}
	// Bindings the upload does not name are dropped unless keep_bindings
	// lists their type: wrangler deploy sends ["secret_text","secret_key"]
	// precisely so that secrets survive ("Never delete secret bindings when
	// deploying", deploy-helpers).
	bindings, secrets, err := s.resolveBindings(sc, meta.Bindings, oldBindings, oldSecrets, keep)
	if err != nil {
		return nil, err
	}
	sc.Bindings, sc.Secrets = bindings, secrets

	if meta.Assets != nil && meta.Assets.JWT != "" {
		manifest, err := s.completedAssets(meta.Assets.JWT)
		if err != nil {
			return nil, err
		}
		sc.Assets = &ScriptAssets{Manifest: manifest, Config: meta.Assets.Config}
	} else if meta.KeepAssets && old != nil && old.Assets != nil {
		sc.Assets = old.Assets
	} else if meta.Assets == nil {
		sc.Assets = nil
	}
	return sc, nil
}

// migrate applies Durable Object migrations after checking the tag precondition.
func (s *Server) migrate(sc *Script, m *migrations) error {
	if m.OldTag != sc.MigrationTag {
		cur := sc.MigrationTag
		if cur == "" {
			return failf(http.StatusBadRequest, codeMigrationTag, "Migration tag precondition failed; no migrations have been applied to this script yet, but old_tag %q was given", m.OldTag)
		}
		return failf(http.StatusBadRequest, codeMigrationTag, "Migration tag precondition failed; current tag is %s", cur)
	}
	steps := m.Steps
	if len(steps) == 0 {
		steps = []migrationStep{m.migrationStep}
	}
	ns := func(class string) *DONamespace {
		for _, n := range s.state.DONamespaces {
			if n.Script == sc.Name && n.Class == class {
				return n
			}
		}
		return nil
	}
	for _, st := range steps {
		if len(st.NewClasses) > 0 && !s.state.Account.WorkersPaid {
			return failf(http.StatusBadRequest, 10097, "In order to use Durable Objects with a free plan, you must create a namespace using a `new_sqlite_classes` migration.")
		}
		for i, list := range [][]string{st.NewClasses, st.NewSQLiteClasses} {
			for _, c := range list {
				if ns(c) != nil {
					return failf(http.StatusBadRequest, 10074, "Cannot apply new-class migration to class '%s' that is already depended on by existing Durable Objects", c)
				}
				id := newID()
				s.state.DONamespaces[id] = &DONamespace{ID: id, Name: sc.Name + "_" + c, Script: sc.Name, Class: c, UseSQLite: i == 1}
			}
		}
		for _, rn := range st.RenamedClasses {
			n := ns(rn.From)
			if n == nil {
				return failf(http.StatusBadRequest, 10074, "Cannot apply rename migration to class '%s': no such Durable Object class", rn.From)
			}
			n.Class, n.Name = rn.To, sc.Name+"_"+rn.To
		}
		for _, c := range st.DeletedClasses {
			n := ns(c)
			if n == nil {
				return failf(http.StatusBadRequest, 10074, "Cannot apply delete migration to class '%s': no such Durable Object class", c)
			}
			delete(s.state.DONamespaces, n.ID)
		}
	}
	if m.NewTag != "" {
		sc.MigrationTag = m.NewTag
	}
	return nil
}

// resolveBindings turns the upload's bindings into the script's bindings
// and secrets: secret_text values go to secrets, inherit copies the old
// binding, keep types carry old bindings of those types that the upload
// does not name, DO bindings get their namespace id, R2 buckets must exist.
func (s *Server) resolveBindings(sc *Script, raw []json.RawMessage, oldB []Binding, oldSecrets map[string]string, keep map[string]bool) ([]Binding, map[string]string, error) {
	var out []Binding
	secrets := map[string]string{}
	named := map[string]bool{}
	for _, rb := range raw {
		var b Binding
		if err := json.Unmarshal(rb, &b); err != nil {
			return nil, nil, failf(http.StatusBadRequest, 10021, "Invalid binding: %v", err)
		}
		if b.Name == "" {
			return nil, nil, failf(http.StatusBadRequest, 10021, "binding of type %s must have a name", b.Type)
		}
		if named[b.Name] {
			return nil, nil, failf(http.StatusBadRequest, 10021, "Binding name '%s' is used more than once", b.Name)
		}
		named[b.Name] = true
		switch b.Type {
		case "secret_text", "secret_key":
			var v struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(rb, &v)
			secrets[b.Name] = v.Text
			continue
		case "inherit":
			if v, isSecret := oldSecrets[b.Name]; isSecret {
				secrets[b.Name] = v
				continue
			}
			i := slices.IndexFunc(oldB, func(o Binding) bool { return o.Name == b.Name })
			if i < 0 {
				return nil, nil, failf(http.StatusBadRequest, 10021, "Binding '%s' of type inherit could not be resolved: the previous version has no binding of that name", b.Name)
			}
			out = append(out, oldB[i])
			continue
		case "durable_object_namespace":
			owner := b.ScriptName
			if owner == "" {
				owner = sc.Name
			}
			b.NamespaceID = ""
			for _, n := range s.state.DONamespaces {
				if n.Script == owner && n.Class == b.ClassName {
					b.NamespaceID = n.ID
				}
			}
			if b.NamespaceID == "" {
				return nil, nil, failf(http.StatusBadRequest, 10061, "Cannot create binding for class '%s' because it is not currently configured to implement Durable Objects. Did you forget to apply a Durable Object migration?", b.ClassName)
			}
		case "r2_bucket":
			if !s.state.Account.R2Enabled {
				return nil, nil, failf(http.StatusBadRequest, codeR2NotEnabled, "R2 binding error for bucket '%s': Please enable R2 through the Cloudflare Dashboard.", b.BucketName)
			}
			if s.state.Buckets[b.BucketName] == nil {
				return nil, nil, failf(http.StatusBadRequest, codeR2BucketMissing, "R2 bucket '%s' not found. Please use a different name and try again.", b.BucketName)
			}
		case "plain_text":
			var v struct {
				Text *string `json:"text"`
			}
			_ = json.Unmarshal(rb, &v)
			if v.Text == nil {
				return nil, nil, failf(http.StatusBadRequest, 10021, "binding %s of type plain_text must have a text", b.Name)
			}
		}
		out = append(out, b)
	}
	for _, o := range oldB {
		if keep[o.Type] && !named[o.Name] {
			out = append(out, o)
			named[o.Name] = true
		}
	}
	if keep["secret_text"] {
		for k, v := range oldSecrets {
			if !named[k] {
				secrets[k] = v
			}
		}
	}
	if out == nil {
		out = []Binding{}
	}
	return out, secrets, nil
}

// newVersion records sc's current content as a new version; deploy also
// creates a deployment sending it all traffic.
func (s *Server) newVersion(sc *Script, source string, annotations map[string]string, deploy bool) *ScriptVersion {
	now := s.opts.Now().UTC()
	v := &ScriptVersion{
		ID: uuid(), Number: len(sc.Versions) + 1, CreatedOn: now, Source: source, Annotations: annotations,
		MainModule: sc.MainModule, CompatibilityDate: sc.CompatibilityDate, CompatibilityFlags: sc.CompatibilityFlags,
		Bindings: slices.Clone(sc.Bindings), Secrets: cloneMap(sc.Secrets), Assets: sc.Assets,
	}
	sc.Versions = append(sc.Versions, v)
	if deploy {
		s.deploy(sc, v.ID, source, annotations)
	}
	return v
}

func (s *Server) deploy(sc *Script, versionID, source string, annotations map[string]string) *ScriptDeployment {
	d := &ScriptDeployment{ID: uuid(), Source: source, Strategy: "percentage", AuthorEmail: s.state.Account.Email,
		CreatedOn: s.opts.Now().UTC(), Annotations: annotations, Versions: []DeploymentVersion{{VersionID: versionID, Percentage: 100}}}
	sc.Deployments = append(sc.Deployments, d)
	return d
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// uuid returns a random RFC 4122 version 4 UUID.
func uuid() string {
	h := newID()
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	return string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
}

func (s *Server) uploadScript(w http.ResponseWriter, r *http.Request, _ *Token) {
	name := r.PathValue("script")
	meta, mods, err := readUpload(r)
	if err != nil {
		writeFailure(w, err)
		return
	}
	old := s.state.Scripts[name]
	// A refused upload changes nothing: migrations are undone with it.
	saved := make(map[string]DONamespace, len(s.state.DONamespaces))
	for id, n := range s.state.DONamespaces {
		saved[id] = *n
	}
	sc, err := s.applyUpload(name, old, meta, mods, false)
	if err != nil {
		s.state.DONamespaces = make(map[string]*DONamespace, len(saved))
		for id, n := range saved {
			s.state.DONamespaces[id] = &n
		}
		writeFailure(w, err)
		return
	}
	v := s.newVersion(sc, "wrangler", meta.Annotations, true)
	s.state.Scripts[name] = sc
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
	if r.URL.Query().Get("force") != "true" {
		for _, other := range s.state.Scripts {
			if other.Name == sc.Name {
				continue
			}
			for _, b := range other.Bindings {
				if b.Type == "durable_object_namespace" && b.ScriptName == sc.Name {
					fail(w, http.StatusBadRequest, 10064, "Cannot delete this Worker: Worker '%s' binds its Durable Object class '%s'. Delete the binding first or pass force=true.", other.Name, b.ClassName)
					return
				}
			}
		}
	}
	for id, n := range s.state.DONamespaces {
		if n.Script == sc.Name {
			delete(s.state.DONamespaces, id)
		}
	}
	delete(s.state.Scripts, sc.Name)
	delete(s.state.Runtimes, sc.Name)
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

// The answer to reading a version the API does not know, or not yet
// (packages/wrangler/src/__tests__/containers/deploy.test.ts,
// mockGetVersionNotFoundOnce).
const (
	codeVersionNotFound = 100146
	msgVersionNotFound  = "The requested Worker version could not be found, please check the ID being passed and try again."
)

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
	next, err := s.applyUpload(sc.Name, sc, meta, mods, true)
	if err != nil {
		writeFailure(w, err)
		return
	}
	// The version is stored on the script; its content takes effect when deployed.
	v := s.newVersion(next, "wrangler", meta.Annotations, false)
	sc.Versions = next.Versions
	ok(w, http.StatusOK, s.versionJSON(sc, v))
}

func (s *Server) findVersion(sc *Script, id string) *ScriptVersion {
	for _, v := range sc.Versions {
		if v.ID == id || strings.ReplaceAll(v.ID, "-", "") == id {
			return v
		}
	}
	return nil
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
	v := s.findVersion(sc, r.PathValue("version"))
	if v == nil {
		fail(w, http.StatusNotFound, codeVersionNotFound, msgVersionNotFound)
		return
	}
	// A just-uploaded version is not readable at once on Cloudflare.
	if v.lagReads < s.versionLag() {
		v.lagReads++
		fail(w, http.StatusNotFound, codeVersionNotFound, msgVersionNotFound)
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
	if len(body.Versions) != 1 || body.Versions[0].Percentage != 100 {
		fail(w, http.StatusBadRequest, 10021, "The emulator deploys a single version at 100%%")
		return
	}
	v := s.findVersion(sc, body.Versions[0].VersionID)
	if v == nil {
		fail(w, http.StatusNotFound, codeVersionNotFound, msgVersionNotFound)
		return
	}
	sc.MainModule, sc.CompatibilityDate, sc.CompatibilityFlags = v.MainModule, v.CompatibilityDate, v.CompatibilityFlags
	sc.Bindings, sc.Secrets, sc.Assets = slices.Clone(v.Bindings), cloneMap(v.Secrets), v.Assets
	sc.ModifiedOn = s.opts.Now().UTC()
	d := s.deploy(sc, v.ID, "api", body.Annotations)
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
	var body struct {
		Bindings           *[]json.RawMessage `json:"bindings"`
		CompatibilityDate  *string            `json:"compatibility_date"`
		CompatibilityFlags *[]string          `json:"compatibility_flags"`
		Logpush            *bool              `json:"logpush"`
		Observability      json.RawMessage    `json:"observability"`
		Tags               *[]string          `json:"tags"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		fail(w, http.StatusBadRequest, 10026, "Could not parse the settings part: %v", err)
		return
	}
	next := *sc
	if body.Bindings != nil {
		b, sec, err := s.resolveBindings(&next, *body.Bindings, sc.Bindings, sc.Secrets, map[string]bool{})
		if err != nil {
			writeFailure(w, err)
			return
		}
		next.Bindings, next.Secrets = b, sec
	}
	if body.CompatibilityDate != nil {
		next.CompatibilityDate = *body.CompatibilityDate
	}
	if body.CompatibilityFlags != nil {
		next.CompatibilityFlags = *body.CompatibilityFlags
	}
	if body.Logpush != nil {
		next.Logpush = *body.Logpush
	}
	if body.Observability != nil {
		next.Observability = body.Observability
	}
	if body.Tags != nil {
		next.Tags = *body.Tags
	}
	next.ModifiedOn = s.opts.Now().UTC()
	*sc = next
	s.newVersion(sc, "api", map[string]string{"workers/triggered_by": "version_settings"}, true)
	ok(w, http.StatusOK, s.settingsJSON(sc))
}

func (s *Server) scriptSettingsJSON(sc *Script) map[string]any {
	return map[string]any{"logpush": sc.Logpush, "observability": rawOrNil(sc.Observability), "tail_consumers": nil, "tags": nonNil(sc.Tags)}
}

func (s *Server) getScriptSettings(w http.ResponseWriter, _ *http.Request, sc *Script) {
	ok(w, http.StatusOK, s.scriptSettingsJSON(sc))
}

func (s *Server) patchScriptSettings(w http.ResponseWriter, r *http.Request, sc *Script) {
	var body struct {
		Logpush       *bool           `json:"logpush"`
		Observability json.RawMessage `json:"observability"`
		Tags          *[]string       `json:"tags"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if body.Logpush != nil {
		sc.Logpush = *body.Logpush
	}
	if body.Observability != nil {
		sc.Observability = body.Observability
	}
	if body.Tags != nil {
		sc.Tags = *body.Tags
	}
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
	if body.Enabled == nil {
		fail(w, http.StatusBadRequest, 10021, "enabled is required")
		return
	}
	if *body.Enabled && s.state.Account.Subdomain == "" {
		fail(w, http.StatusBadRequest, codeSubdomainRequired, "You need a workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu. Opening the Workers landing page for the first time will create a workers.dev subdomain automatically.")
		return
	}
	sc.WorkersDevEnabled = *body.Enabled
	// wrangler pins the API date 2025-08-01 on this call
	// (packages/deploy-helpers/src/triggers/deploy.ts). Without it, or
	// without previews_enabled, the emulator lets preview URLs follow
	// enabled: a guess at the older behaviour, which moltctl never relies on.
	if body.PreviewsEnabled != nil && r.Header.Get("Cloudflare-Workers-Script-Api-Date") >= "2025-08-01" {
		sc.PreviewsEnabled = *body.PreviewsEnabled
	} else {
		sc.PreviewsEnabled = *body.Enabled
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
