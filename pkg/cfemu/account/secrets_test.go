package account

import (
	"encoding/json"
	"testing"
)

func TestPatchSecrets(t *testing.T) {
	t.Parallel()
	st := newReady()
	sc, _, err := st.UploadScript(t0, "w", &Metadata{MainModule: "i.js",
		Bindings: raw(t, map[string]any{"type": "plain_text", "name": "VAR", "text": "x"},
			map[string]any{"type": "secret_text", "name": "OLD", "text": "o"})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	versions := len(sc.Versions)
	if err := st.PatchSecrets(t0, sc, map[string]*Secret{"VAR": {Text: "y"}, "NEW": {Text: "n"}}); code(err) != CodeBindingInUse {
		t.Fatalf("a var's name: %v", err)
	}
	if err := st.PatchSecrets(t0, sc, map[string]*Secret{"NEW": {Text: "n", Type: "plain_text"}}); code(err) != CodeValidation {
		t.Fatalf("a bad type: %v", err)
	}
	if _, found := sc.Secrets["NEW"]; found || len(sc.Versions) != versions {
		t.Fatalf("a refused patch changed the script: %v, %d versions", sc.Secrets, len(sc.Versions))
	}
	if err := st.PatchSecrets(t0, sc, map[string]*Secret{"NEW": {Text: "n"}, "OLD": nil}); err != nil {
		t.Fatal(err)
	}
	if len(sc.Secrets) != 1 || sc.Secrets["NEW"] != "n" || len(sc.Versions) != versions+1 || len(sc.Deployments) != versions+1 {
		t.Errorf("after the patch: %v, %d versions, %d deployments", sc.Secrets, len(sc.Versions), len(sc.Deployments))
	}
	if err := st.DeleteSecret(t0, sc, "OLD"); code(err) != CodeBindingNotFound {
		t.Errorf("delete of a deleted secret: %v", err)
	}
	if typ, err := st.SetSecret(t0, sc, Secret{Name: "K", Text: "v"}); err != nil || typ != "secret_text" || sc.Secrets["K"] != "v" {
		t.Errorf("SetSecret = %q, %v", typ, err)
	}
}

func TestAssetUploadCompletes(t *testing.T) {
	t.Parallel()
	st := newReady()
	content := []byte("<h1>hi</h1>")
	hash := AssetHash("/index.html", content)
	jwt, buckets, err := st.StartAssetUpload(t0, "w", map[string]AssetEntry{"/index.html": {Hash: hash, Size: int64(len(content))}})
	if err != nil || len(buckets) != 1 {
		t.Fatalf("StartAssetUpload: %v, %v", buckets, err)
	}
	if _, err := st.OpenAssetUpload(t0, jwt, "other"); code(err) != 8000013 {
		t.Fatalf("another account: %v", err)
	}
	up, err := st.OpenAssetUpload(t0, jwt, "acct")
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Add(hash, []byte("bm90IGl0")); code(err) != CodeValidation {
		t.Errorf("content that does not hash: %v", err)
	}
	if err := up.Add(hash, []byte("PGgxPmhpPC9oMT4=")); err != nil {
		t.Fatal(err)
	}
	done, ok := up.Finish()
	if !ok || !st.AssetSet[hash] {
		t.Fatalf("Finish = %v", ok)
	}
	sc, _, err := st.UploadScript(t0, "w", &Metadata{MainModule: "i.js", Assets: &struct {
		JWT    string          `json:"jwt"`
		Config json.RawMessage `json:"config"`
	}{JWT: done}}, nil)
	if err != nil || sc.Assets == nil || sc.Assets.Manifest["/index.html"] != hash {
		t.Fatalf("upload with the completion JWT: %v", err)
	}
	if _, _, err := st.UploadScript(t0, "w", &Metadata{MainModule: "i.js", Assets: &struct {
		JWT    string          `json:"jwt"`
		Config json.RawMessage `json:"config"`
	}{JWT: jwt}}, nil); code(err) != CodeValidation {
		t.Errorf("the upload JWT is no completion: %v", err)
	}
}
