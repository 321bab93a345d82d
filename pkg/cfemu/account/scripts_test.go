package account

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func newReady() *State { return NewState("acct", "tok", ScenarioReady, t0) }

// raw turns binding literals into the upload's raw bindings.
func raw(t *testing.T, bindings ...map[string]any) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, b := range bindings {
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	return out
}

func code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func sandboxUpload(t *testing.T, bindings ...map[string]any) *Metadata {
	return &Metadata{MainModule: "index.js", KeepBindings: []string{"secret_text", "secret_key"},
		Migrations: &Migrations{NewTag: "v1", MigrationStep: MigrationStep{NewSQLiteClasses: []string{"Sandbox"}}},
		Bindings:   raw(t, append([]map[string]any{{"type": "durable_object_namespace", "name": "Sandbox", "class_name": "Sandbox"}}, bindings...)...)}
}

func TestUploadScriptCreatesAVersionAndKeepsSecrets(t *testing.T) {
	t.Parallel()
	st := newReady()
	mods := []Module{{Name: "index.js"}}
	sc, v, err := st.UploadScript(t0, "molt", sandboxUpload(t,
		map[string]any{"type": "plain_text", "name": "MODE", "text": "a"},
		map[string]any{"type": "secret_text", "name": "TOKEN", "text": "s3cret"}), mods)
	if err != nil {
		t.Fatal(err)
	}
	if st.Scripts["molt"] != sc || len(sc.Versions) != 1 || sc.Versions[0] != v || len(sc.Deployments) != 1 {
		t.Fatalf("script %+v, versions %d, deployments %d", sc, len(sc.Versions), len(sc.Deployments))
	}
	ns := sc.SandboxNamespace()
	if ns == "" || st.DONamespaces[ns] == nil || sc.Env()["MODE"] != "a" || sc.Secrets["TOKEN"] != "s3cret" {
		t.Fatalf("namespace %q, env %v", ns, sc.Env())
	}
	if owner, class, found := st.NamespaceOwner(ns); !found || owner != "molt" || class != "Sandbox" {
		t.Errorf("NamespaceOwner = %q %q %v", owner, class, found)
	}

	// A second upload without migrations keeps the namespace, and
	// keep_bindings keeps the secret the upload does not name.
	next := &Metadata{MainModule: "index.js", KeepBindings: []string{"secret_text"},
		Bindings: raw(t, map[string]any{"type": "durable_object_namespace", "name": "Sandbox", "class_name": "Sandbox"})}
	sc, _, err = st.UploadScript(t0, "molt", next, mods)
	if err != nil {
		t.Fatal(err)
	}
	if sc.SandboxNamespace() != ns || sc.Secrets["TOKEN"] != "s3cret" || sc.Env()["MODE"] != "" || len(sc.Deployments) != 2 {
		t.Errorf("after re-upload: ns %q, secrets %v, env %v, deployments %d", sc.SandboxNamespace(), sc.Secrets, sc.Env(), len(sc.Deployments))
	}
}

func TestUploadScriptRefusalChangesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		prep func(*State)
		meta func(*testing.T) *Metadata
		code int
	}{
		{"no subdomain", func(st *State) { st.Account.Subdomain = "" }, func(t *testing.T) *Metadata { return sandboxUpload(t) }, CodeSubdomainRequired},
		{"missing bucket", nil, func(t *testing.T) *Metadata {
			return sandboxUpload(t, map[string]any{"type": "r2_bucket", "name": "B", "bucket_name": "nope"})
		}, CodeR2BucketMissing},
		{"R2 not enabled", func(st *State) { st.Account.R2Enabled = false }, func(t *testing.T) *Metadata {
			return sandboxUpload(t, map[string]any{"type": "r2_bucket", "name": "B", "bucket_name": "nope"})
		}, CodeR2NotEnabled},
		{"unmigrated class", nil, func(t *testing.T) *Metadata {
			return sandboxUpload(t, map[string]any{"type": "durable_object_namespace", "name": "X", "class_name": "Other"})
		}, 10061},
		{"free plan new_classes", func(st *State) { st.Account.WorkersPaid = false }, func(t *testing.T) *Metadata {
			m := sandboxUpload(t)
			m.Migrations.NewClasses, m.Migrations.NewSQLiteClasses = []string{"Sandbox"}, nil
			return m
		}, 10097},
		{"wrong old tag", nil, func(t *testing.T) *Metadata {
			m := sandboxUpload(t)
			m.Migrations.OldTag = "v0"
			return m
		}, CodeMigrationTag},
		{"duplicate binding", nil, func(t *testing.T) *Metadata {
			return sandboxUpload(t, map[string]any{"type": "plain_text", "name": "Sandbox", "text": "x"})
		}, CodeValidation},
		{"no main module", nil, func(t *testing.T) *Metadata { m := sandboxUpload(t); m.MainModule = ""; return m }, CodeValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newReady()
			if tt.prep != nil {
				tt.prep(st)
			}
			_, _, err := st.UploadScript(t0, "molt", tt.meta(t), []Module{{Name: "index.js"}})
			if code(err) != tt.code {
				t.Fatalf("err = %v (code %d), want code %d", err, code(err), tt.code)
			}
			if len(st.Scripts) != 0 || len(st.DONamespaces) != 0 {
				t.Errorf("a refused upload left %d scripts, %d namespaces", len(st.Scripts), len(st.DONamespaces))
			}
		})
	}
}

func TestResolveBindings(t *testing.T) {
	t.Parallel()
	st := newReady()
	st.Buckets["data"] = &Bucket{Name: "data"}
	old := []Binding{{Type: "plain_text", Name: "KEEP", Text: "k"}, {Type: "r2_bucket", Name: "OLDB", BucketName: "data"}}
	oldSecrets := map[string]string{"S1": "one", "S2": "two"}
	got, secrets, err := st.ResolveBindings("molt", raw(t,
		map[string]any{"type": "inherit", "name": "S1"},
		map[string]any{"type": "inherit", "name": "OLDB"},
		map[string]any{"type": "r2_bucket", "name": "B", "bucket_name": "data"},
		map[string]any{"type": "secret_text", "name": "NEW", "text": "n"},
	), old, oldSecrets, map[string]bool{"plain_text": true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range got {
		names = append(names, b.Type+":"+b.Name)
	}
	if want := "r2_bucket:OLDB r2_bucket:B plain_text:KEEP"; joined(names) != want {
		t.Errorf("bindings %q, want %q", joined(names), want)
	}
	if len(secrets) != 2 || secrets["S1"] != "one" || secrets["NEW"] != "n" {
		t.Errorf("secrets %v: inherit keeps S1, S2 is dropped without keep secret_text", secrets)
	}
	if _, _, err := st.ResolveBindings("molt", raw(t, map[string]any{"type": "inherit", "name": "GONE"}), old, oldSecrets, nil); code(err) != CodeValidation {
		t.Errorf("inherit of an unknown binding: %v", err)
	}
	if _, _, err := st.ResolveBindings("molt", raw(t, map[string]any{"type": "plain_text", "name": "V"}), nil, nil, nil); code(err) != CodeValidation {
		t.Errorf("plain_text without text: %v", err)
	}
}

func joined(v []string) string {
	out := ""
	for i, s := range v {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

func TestVersionsDeployAndLag(t *testing.T) {
	t.Parallel()
	st := newReady()
	sc, _, err := st.UploadScript(t0, "w", &Metadata{MainModule: "index.js"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.UploadVersion(t0, sc, &Metadata{MainModule: "next.js"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.MainModule != "index.js" || len(sc.Versions) != 2 {
		t.Fatalf("an uploaded version took effect: main %q, %d versions", sc.MainModule, len(sc.Versions))
	}
	if _, err := st.UploadVersion(t0, sc, &Metadata{MainModule: "m.js", Migrations: &Migrations{}}, nil); code(err) != 10211 {
		t.Errorf("versioned migration: %v", err)
	}
	// The latest version is not deployed: secret changes are refused.
	if _, err := st.SetSecret(t0, sc, Secret{Name: "K", Text: "v"}); code(err) != 10215 {
		t.Errorf("secret while undeployed: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := ReadVersion(sc, v.ID, 2); code(err) != CodeVersionNotFound {
			t.Fatalf("read %d of a new version: %v", i+1, err)
		}
	}
	if got, err := ReadVersion(sc, v.ID, 2); err != nil || got != v {
		t.Fatalf("third read: %v", err)
	}
	if _, err := st.Deploy(t0, sc, []DeploymentVersion{{VersionID: v.ID, Percentage: 50}}, nil); code(err) != CodeValidation {
		t.Errorf("a split: %v", err)
	}
	if _, err := st.Deploy(t0, sc, []DeploymentVersion{{VersionID: "nope", Percentage: 100}}, nil); code(err) != CodeVersionNotFound {
		t.Errorf("unknown version: %v", err)
	}
	if _, err := st.Deploy(t0, sc, []DeploymentVersion{{VersionID: v.ID, Percentage: 100}}, nil); err != nil || sc.MainModule != "next.js" {
		t.Fatalf("deploy: %v, main %q", err, sc.MainModule)
	}
	if _, err := st.SetSecret(t0, sc, Secret{Name: "K", Text: "v"}); err != nil {
		t.Errorf("secret once deployed: %v", err)
	}
}

func TestDeleteScriptRefusedWhileBoundElsewhere(t *testing.T) {
	t.Parallel()
	st := newReady()
	if _, _, err := st.UploadScript(t0, "owner", sandboxUpload(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UploadScript(t0, "user", &Metadata{MainModule: "i.js", Bindings: raw(t,
		map[string]any{"type": "durable_object_namespace", "name": "S", "class_name": "Sandbox", "script_name": "owner"})}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteScript("owner", false); code(err) != 10064 || st.Scripts["owner"] == nil {
		t.Fatalf("delete of a bound script: %v", err)
	}
	if err := st.DeleteScript("owner", true); err != nil || st.Scripts["owner"] != nil || len(st.DONamespaces) != 0 {
		t.Fatalf("forced delete: %v, %d namespaces left", err, len(st.DONamespaces))
	}
}

func TestWorkersDevAndSubdomain(t *testing.T) {
	t.Parallel()
	st := NewState("acct", "tok", ScenarioNewAccount, t0)
	on, off := true, false
	sc := &Script{Name: "w"}
	if err := st.SetWorkersDev(sc, &on, nil, ""); code(err) != CodeSubdomainRequired {
		t.Fatalf("no subdomain: %v", err)
	}
	if err := st.SetSubdomain("-bad"); code(err) != 10033 {
		t.Errorf("bad name: %v", err)
	}
	st.TakeSubdomain("mine")
	if err := st.SetSubdomain("mine"); code(err) != 10031 {
		t.Errorf("taken name: %v", err)
	}
	if err := st.SetSubdomain("me"); err != nil || st.Account.Subdomain != "me" {
		t.Fatalf("SetSubdomain: %v", err)
	}
	if err := st.SetWorkersDev(sc, &on, &off, ""); err != nil || !sc.WorkersDevEnabled || !sc.PreviewsEnabled {
		t.Errorf("without the API date previews follow enabled: %v %+v", err, sc)
	}
	if err := st.SetWorkersDev(sc, &on, &off, ScriptAPIDate); err != nil || sc.PreviewsEnabled {
		t.Errorf("with the API date previews are as sent: %v %+v", err, sc)
	}
}
