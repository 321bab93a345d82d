package initcmd

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/preflight"
)

// TestInitRunsDoctorOnEmulator runs init with a token against the emulator:
// it finds the account, writes a manifest, and the doctor checks accept it.
func TestInitRunsDoctorOnEmulator(t *testing.T) {
	// Docker is the doctor's business; init's test does not need a daemon.
	orig := newDoctorEnv
	newDoctorEnv = func(f *cmdutil.Factory) *preflight.Env {
		e := orig(f)
		e.Docker = nil
		return e
	}
	t.Cleanup(func() { newDoctorEnv = orig })

	srv := cfemu.New(cfemu.Options{ColdStart: 50 * time.Millisecond}).Start()
	defer srv.Close()
	env := map[string]string{
		"CLOUDFLARE_API_TOKEN":    srv.Token(),
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(),
		"MOLTCTL_WORKERS_DEV_URL": srv.WorkersDevURLTemplate(),
	}
	for k, v := range sampleValues {
		env[k] = v
	}
	dir := project(t)
	f, out, errOut := testFactory(dir, env, true)
	f.Global.Output = cmdutil.OutputJSON
	if err := runInit(t, f, "--provider", "anthropic", "--channels", "telegram", "--allow", "me@example.com"); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if res.Account == nil || res.Account.ID != srv.AccountID() {
		t.Errorf("account = %+v, want %s", res.Account, srv.AccountID())
	}
	if res.Doctor == nil || !res.Doctor.Ran {
		t.Fatalf("doctor did not run: %+v", res.Doctor)
	}
	if len(res.Doctor.Checks) == 0 {
		t.Error("doctor ran no checks")
	}
	ran := 0
	for _, c := range res.Doctor.Checks {
		t.Logf("%s: %s %s", c.ID, c.Status, c.Message)
		if c.Status == preflight.StatusOK {
			ran++
		}
		if c.Status == preflight.StatusFail {
			t.Errorf("doctor check %s failed: %s (fix: %s)", c.ID, c.Message, c.Fix)
		}
	}
	if ran == 0 {
		t.Error("no doctor check passed")
	}
	if res.Doctor.Failed {
		t.Error("doctor reported a failure")
	}
	checkManifest(t, filepath.Join(dir, ManifestName))
}
