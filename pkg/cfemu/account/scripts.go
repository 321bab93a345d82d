package account

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Metadata is a Worker upload's metadata part (wrangler's WorkerMetadata).
type Metadata struct {
	MainModule         string            `json:"main_module"`
	BodyPart           string            `json:"body_part"`
	CompatibilityDate  string            `json:"compatibility_date"`
	CompatibilityFlags []string          `json:"compatibility_flags"`
	Bindings           []json.RawMessage `json:"bindings"`
	KeepBindings       []string          `json:"keep_bindings"`
	KeepAssets         bool              `json:"keep_assets"`
	Migrations         *Migrations       `json:"migrations"`
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

// Migrations are an upload's Durable Object migrations: one step inline or
// a list of steps, applied when the script's tag is OldTag.
type Migrations struct {
	OldTag string          `json:"old_tag"`
	NewTag string          `json:"new_tag"`
	Steps  []MigrationStep `json:"steps"`
	MigrationStep
}

// MigrationStep creates, renames and deletes Durable Object classes.
type MigrationStep struct {
	NewClasses       []string `json:"new_classes"`
	NewSQLiteClasses []string `json:"new_sqlite_classes"`
	DeletedClasses   []string `json:"deleted_classes"`
	RenamedClasses   []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"renamed_classes"`
}

// msgSubdomainRequired is 10063's text.
const msgSubdomainRequired = "You need a workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu. Opening the Workers landing page for the first time will create a workers.dev subdomain automatically."

// UploadScript is PUT scripts/{name}: it validates the upload against the
// account and the script (if any), applies its migrations, and stores the
// script with a new version deployed at 100%. A refused upload changes
// nothing: its migrations are undone with it.
func (st *State) UploadScript(now time.Time, name string, meta *Metadata, mods []Module) (*Script, *ScriptVersion, error) {
	saved := make(map[string]DONamespace, len(st.DONamespaces))
	for id, n := range st.DONamespaces {
		saved[id] = *n
	}
	sc, err := st.applyUpload(now, name, st.Scripts[name], meta, mods, false)
	if err != nil {
		st.DONamespaces = make(map[string]*DONamespace, len(saved))
		for id, n := range saved {
			st.DONamespaces[id] = &n
		}
		return nil, nil, err
	}
	v := st.newVersion(now, sc, "wrangler", meta.Annotations, true)
	st.Scripts[name] = sc
	return sc, v, nil
}

// UploadVersion is POST scripts/{name}/versions: the upload becomes a new
// version of sc, which takes effect only when deployed.
func (st *State) UploadVersion(now time.Time, sc *Script, meta *Metadata, mods []Module) (*ScriptVersion, error) {
	next, err := st.applyUpload(now, sc.Name, sc, meta, mods, true)
	if err != nil {
		return nil, err
	}
	v := st.newVersion(now, next, "wrangler", meta.Annotations, false)
	sc.Versions = next.Versions
	return v, nil
}

// applyUpload validates an upload against the account and the existing
// script (nil for a new one) and returns the script as it would become.
// versioned is true for POST .../versions, which keeps previous bindings
// only when asked (keep_bindings, inherit) and may not migrate. Migrations
// change st.DONamespaces even when a later check refuses the upload
// (UploadScript undoes them).
func (st *State) applyUpload(now time.Time, name string, old *Script, meta *Metadata, mods []Module, versioned bool) (*Script, error) {
	now = now.UTC()
	main := meta.MainModule
	if main == "" {
		main = meta.BodyPart
	}
	if main == "" {
		return nil, invalid("No such module: the upload must name its main module (main_module)")
	}
	if len(mods) > 0 && !slices.ContainsFunc(mods, func(m Module) bool { return m.Name == main }) {
		return nil, invalid("Uncaught Error: No such module \"%s\".", main)
	}
	if old == nil && st.Account.Subdomain == "" {
		return nil, errorf(http.StatusBadRequest, CodeSubdomainRequired, msgSubdomainRequired)
	}
	sc := &Script{Name: name, ID: NewID(), CreatedOn: now, Secrets: map[string]string{}}
	if old != nil {
		cp := *old
		sc = &cp
		sc.Secrets = map[string]string{}
	}
	sc.ModifiedOn = now
	sc.Etag = NewID() + NewID()
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
			return nil, errorf(http.StatusBadRequest, 10211, "Version upload failed. You attempted to upload a version of a Worker that includes a Durable Object migration, but migrations must be fully applied via a non-versioned deployment. Refer to the documentation for more information.")
		}
		if err := st.migrate(sc, meta.Migrations); err != nil {
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
	bindings, secrets, err := st.ResolveBindings(sc.Name, meta.Bindings, oldBindings, oldSecrets, keep)
	if err != nil {
		return nil, err
	}
	sc.Bindings, sc.Secrets = bindings, secrets

	if meta.Assets != nil && meta.Assets.JWT != "" {
		manifest, err := st.completedAssets(now, meta.Assets.JWT)
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
func (st *State) migrate(sc *Script, m *Migrations) error {
	if m.OldTag != sc.MigrationTag {
		cur := sc.MigrationTag
		if cur == "" {
			return errorf(http.StatusBadRequest, CodeMigrationTag, "Migration tag precondition failed; no migrations have been applied to this script yet, but old_tag %q was given", m.OldTag)
		}
		return errorf(http.StatusBadRequest, CodeMigrationTag, "Migration tag precondition failed; current tag is %s", cur)
	}
	steps := m.Steps
	if len(steps) == 0 {
		steps = []MigrationStep{m.MigrationStep}
	}
	ns := func(class string) *DONamespace {
		for _, n := range st.DONamespaces {
			if n.Script == sc.Name && n.Class == class {
				return n
			}
		}
		return nil
	}
	for _, step := range steps {
		if len(step.NewClasses) > 0 && !st.Account.WorkersPaid {
			return errorf(http.StatusBadRequest, 10097, "In order to use Durable Objects with a free plan, you must create a namespace using a `new_sqlite_classes` migration.")
		}
		for i, list := range [][]string{step.NewClasses, step.NewSQLiteClasses} {
			for _, c := range list {
				if ns(c) != nil {
					return errorf(http.StatusBadRequest, 10074, "Cannot apply new-class migration to class '%s' that is already depended on by existing Durable Objects", c)
				}
				id := NewID()
				st.DONamespaces[id] = &DONamespace{ID: id, Name: sc.Name + "_" + c, Script: sc.Name, Class: c, UseSQLite: i == 1}
			}
		}
		for _, rn := range step.RenamedClasses {
			n := ns(rn.From)
			if n == nil {
				return errorf(http.StatusBadRequest, 10074, "Cannot apply rename migration to class '%s': no such Durable Object class", rn.From)
			}
			n.Class, n.Name = rn.To, sc.Name+"_"+rn.To
		}
		for _, c := range step.DeletedClasses {
			n := ns(c)
			if n == nil {
				return errorf(http.StatusBadRequest, 10074, "Cannot apply delete migration to class '%s': no such Durable Object class", c)
			}
			delete(st.DONamespaces, n.ID)
		}
	}
	if m.NewTag != "" {
		sc.MigrationTag = m.NewTag
	}
	return nil
}

// ResolveBindings turns the bindings of an upload to script into the
// script's bindings and secrets: secret_text values go to secrets, inherit
// copies the old binding, keep types carry old bindings of those types
// that the upload does not name, DO bindings get their namespace id, R2
// buckets must exist.
func (st *State) ResolveBindings(script string, raw []json.RawMessage, oldB []Binding, oldSecrets map[string]string, keep map[string]bool) ([]Binding, map[string]string, error) {
	var out []Binding
	secrets := map[string]string{}
	named := map[string]bool{}
	for _, rb := range raw {
		var b Binding
		if err := json.Unmarshal(rb, &b); err != nil {
			return nil, nil, invalid("Invalid binding: %v", err)
		}
		if b.Name == "" {
			return nil, nil, invalid("binding of type %s must have a name", b.Type)
		}
		if named[b.Name] {
			return nil, nil, invalid("Binding name '%s' is used more than once", b.Name)
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
				return nil, nil, invalid("Binding '%s' of type inherit could not be resolved: the previous version has no binding of that name", b.Name)
			}
			out = append(out, oldB[i])
			continue
		case "durable_object_namespace":
			owner := b.ScriptName
			if owner == "" {
				owner = script
			}
			b.NamespaceID = ""
			for _, n := range st.DONamespaces {
				if n.Script == owner && n.Class == b.ClassName {
					b.NamespaceID = n.ID
				}
			}
			if b.NamespaceID == "" {
				return nil, nil, errorf(http.StatusBadRequest, 10061, "Cannot create binding for class '%s' because it is not currently configured to implement Durable Objects. Did you forget to apply a Durable Object migration?", b.ClassName)
			}
		case "r2_bucket":
			if !st.Account.R2Enabled {
				return nil, nil, errorf(http.StatusBadRequest, CodeR2NotEnabled, "R2 binding error for bucket '%s': Please enable R2 through the Cloudflare Dashboard.", b.BucketName)
			}
			if st.Buckets[b.BucketName] == nil {
				return nil, nil, errorf(http.StatusBadRequest, CodeR2BucketMissing, "R2 bucket '%s' not found. Please use a different name and try again.", b.BucketName)
			}
		case "plain_text":
			var v struct {
				Text *string `json:"text"`
			}
			_ = json.Unmarshal(rb, &v)
			if v.Text == nil {
				return nil, nil, invalid("binding %s of type plain_text must have a text", b.Name)
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
func (st *State) newVersion(now time.Time, sc *Script, source string, annotations map[string]string, deploy bool) *ScriptVersion {
	v := &ScriptVersion{
		ID: NewUUID(), Number: len(sc.Versions) + 1, CreatedOn: now.UTC(), Source: source, Annotations: annotations,
		MainModule: sc.MainModule, CompatibilityDate: sc.CompatibilityDate, CompatibilityFlags: sc.CompatibilityFlags,
		Bindings: slices.Clone(sc.Bindings), Secrets: cloneMap(sc.Secrets), Assets: sc.Assets,
	}
	sc.Versions = append(sc.Versions, v)
	if deploy {
		st.deploy(now, sc, v.ID, source, annotations)
	}
	return v
}

func (st *State) deploy(now time.Time, sc *Script, versionID, source string, annotations map[string]string) *ScriptDeployment {
	d := &ScriptDeployment{ID: NewUUID(), Source: source, Strategy: "percentage", AuthorEmail: st.Account.Email,
		CreatedOn: now.UTC(), Annotations: annotations, Versions: []DeploymentVersion{{VersionID: versionID, Percentage: 100}}}
	sc.Deployments = append(sc.Deployments, d)
	return d
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}

// NewUUID returns a random RFC 4122 version 4 UUID.
func NewUUID() string {
	h := NewID()
	b := []byte(h)
	b[12] = '4'
	b[16] = "89ab"[b[16]%4]
	return string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
}

// Deploy is POST scripts/{name}/deployments: version versions[0] gets all
// traffic and the script takes its content. The emulator does not split
// traffic: anything but one version at 100% is refused.
func (st *State) Deploy(now time.Time, sc *Script, versions []DeploymentVersion, annotations map[string]string) (*ScriptDeployment, error) {
	if len(versions) != 1 || versions[0].Percentage != 100 {
		return nil, invalid("The emulator deploys a single version at 100%%")
	}
	v := FindVersion(sc, versions[0].VersionID)
	if v == nil {
		return nil, errorf(http.StatusNotFound, CodeVersionNotFound, MsgVersionNotFound)
	}
	sc.MainModule, sc.CompatibilityDate, sc.CompatibilityFlags = v.MainModule, v.CompatibilityDate, v.CompatibilityFlags
	sc.Bindings, sc.Secrets, sc.Assets = slices.Clone(v.Bindings), cloneMap(v.Secrets), v.Assets
	sc.ModifiedOn = now.UTC()
	return st.deploy(now, sc, v.ID, "api", annotations), nil
}

// FindVersion is sc's version with id (with or without dashes), or nil.
func FindVersion(sc *Script, id string) *ScriptVersion {
	for _, v := range sc.Versions {
		if v.ID == id || strings.ReplaceAll(v.ID, "-", "") == id {
			return v
		}
	}
	return nil
}

// ReadVersion is GET .../versions/{id}. A just-uploaded version is not
// readable at once on Cloudflare: its first lag reads answer 100146.
func ReadVersion(sc *Script, id string, lag int) (*ScriptVersion, error) {
	v := FindVersion(sc, id)
	if v == nil || v.lagReads < lag {
		if v != nil {
			v.lagReads++
		}
		return nil, errorf(http.StatusNotFound, CodeVersionNotFound, MsgVersionNotFound)
	}
	return v, nil
}

// DeleteScript removes the script with what belongs to it alone: its
// versions, deployments, secrets, workers.dev route and the Durable Object
// namespaces it defines (and their objects). R2 buckets, uploaded asset
// content, container applications, Access applications and the account
// subdomain stay, as on Cloudflare. Unless force, a script whose Durable
// Object class another script binds is refused (10064).
func (st *State) DeleteScript(name string, force bool) error {
	if !force {
		for _, other := range st.Scripts {
			if other.Name == name {
				continue
			}
			for _, b := range other.Bindings {
				if b.Type == "durable_object_namespace" && b.ScriptName == name {
					return errorf(http.StatusBadRequest, 10064, "Cannot delete this Worker: Worker '%s' binds its Durable Object class '%s'. Delete the binding first or pass force=true.", other.Name, b.ClassName)
				}
			}
		}
	}
	for id, n := range st.DONamespaces {
		if n.Script == name {
			delete(st.DONamespaces, id)
		}
	}
	delete(st.Scripts, name)
	return nil
}

// SettingsPatch is PATCH .../settings; nil fields are unchanged.
type SettingsPatch struct {
	Bindings           *[]json.RawMessage `json:"bindings"`
	CompatibilityDate  *string            `json:"compatibility_date"`
	CompatibilityFlags *[]string          `json:"compatibility_flags"`
	Logpush            *bool              `json:"logpush"`
	Observability      json.RawMessage    `json:"observability"`
	Tags               *[]string          `json:"tags"`
}

// PatchSettings applies p to sc and deploys the result as a new version:
// bindings listed replace the script's (inherit keeps one, secret_text sets
// a secret), as wrangler's older `secret bulk` used it. A refused patch
// changes nothing.
func (st *State) PatchSettings(now time.Time, sc *Script, p SettingsPatch) error {
	next := *sc
	if p.Bindings != nil {
		b, sec, err := st.ResolveBindings(next.Name, *p.Bindings, sc.Bindings, sc.Secrets, map[string]bool{})
		if err != nil {
			return err
		}
		next.Bindings, next.Secrets = b, sec
	}
	if p.CompatibilityDate != nil {
		next.CompatibilityDate = *p.CompatibilityDate
	}
	if p.CompatibilityFlags != nil {
		next.CompatibilityFlags = *p.CompatibilityFlags
	}
	if p.Logpush != nil {
		next.Logpush = *p.Logpush
	}
	if p.Observability != nil {
		next.Observability = p.Observability
	}
	if p.Tags != nil {
		next.Tags = *p.Tags
	}
	next.ModifiedOn = now.UTC()
	*sc = next
	st.newVersion(now, sc, "api", map[string]string{"workers/triggered_by": "version_settings"}, true)
	return nil
}

// ScriptSettingsPatch is PATCH .../script-settings; nil fields are unchanged.
type ScriptSettingsPatch struct {
	Logpush       *bool           `json:"logpush"`
	Observability json.RawMessage `json:"observability"`
	Tags          *[]string       `json:"tags"`
}

// PatchScriptSettings applies p to sc (no new version).
func PatchScriptSettings(sc *Script, p ScriptSettingsPatch) {
	if p.Logpush != nil {
		sc.Logpush = *p.Logpush
	}
	if p.Observability != nil {
		sc.Observability = p.Observability
	}
	if p.Tags != nil {
		sc.Tags = *p.Tags
	}
}

// ScriptAPIDate is the Cloudflare-Workers-Script-Api-Date from which the
// subdomain call takes previews_enabled as sent.
const ScriptAPIDate = "2025-08-01"

// SetWorkersDev is POST .../subdomain: it puts sc on workers.dev or takes
// it off. wrangler pins the API date 2025-08-01 on this call
// (packages/deploy-helpers/src/triggers/deploy.ts). Without it, or without
// previews, the emulator lets preview URLs follow enabled: a guess at the
// older behaviour, which moltctl never relies on.
func (st *State) SetWorkersDev(sc *Script, enabled, previews *bool, apiDate string) error {
	if enabled == nil {
		return invalid("enabled is required")
	}
	if *enabled && st.Account.Subdomain == "" {
		return errorf(http.StatusBadRequest, CodeSubdomainRequired, msgSubdomainRequired)
	}
	sc.WorkersDevEnabled = *enabled
	if previews != nil && apiDate >= ScriptAPIDate {
		sc.PreviewsEnabled = *previews
	} else {
		sc.PreviewsEnabled = *enabled
	}
	return nil
}

var subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// SubdomainTaken reports names other accounts hold in the emulated world
// (a few fixed ones and those given to TakeSubdomain).
func (st *State) SubdomainTaken(name string) bool {
	return name == "taken" || name == "cloudflare" || name == "workers" || st.unsavedPart().takenSubdomains[name]
}

// TakeSubdomain makes another account hold the workers.dev name, as when
// someone registers it between a check that found it free and its use.
func (st *State) TakeSubdomain(name string) {
	u := st.unsavedPart()
	if u.takenSubdomains == nil {
		u.takenSubdomains = map[string]bool{}
	}
	u.takenSubdomains[name] = true
}

// SetSubdomain registers the account's workers.dev subdomain.
func (st *State) SetSubdomain(name string) error {
	if !subdomainRE.MatchString(name) {
		return errorf(http.StatusBadRequest, 10033, "Subdomain names must be 1-63 characters of a-z, 0-9 and '-', and must not start or end with '-'")
	}
	if st.SubdomainTaken(name) {
		return errorf(http.StatusConflict, 10031, "This subdomain is unavailable")
	}
	st.Account.Subdomain = name
	return nil
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
	maps.Copy(env, sc.Secrets)
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

// SandboxNamespace is the namespace id of the script's Sandbox Durable
// Object class (moltworker binds class "Sandbox"; else any of its own), or "".
func (sc *Script) SandboxNamespace() string {
	ns := sc.DONamespaces()
	if id := ns["Sandbox"]; id != "" {
		return id
	}
	for _, id := range ns {
		if id != "" {
			return id
		}
	}
	return ""
}

// NamespaceOwner finds the script and class that own a Durable Object
// namespace id.
func (st *State) NamespaceOwner(id string) (script, class string, ok bool) {
	if id == "" {
		return "", "", false
	}
	for name, sc := range st.Scripts {
		for cls, nsID := range sc.DONamespaces() {
			if nsID == id {
				return name, cls, true
			}
		}
	}
	return "", "", false
}
