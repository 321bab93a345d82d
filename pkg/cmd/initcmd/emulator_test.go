package initcmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/preflight"
)

// TestInitRunsDoctorOnEmulator runs init with a token against the emulator:
// it finds the account, writes a manifest, and the doctor checks accept it.
func TestInitRunsDoctorOnEmulator(t *testing.T) {
	t.Parallel()
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
	// Docker is the doctor's business; init's test does not need a daemon.
	noDocker := func(o *InitOptions) {
		o.NewDoctorEnv = func() *preflight.Env {
			e := f.PreflightEnv()
			e.Docker = nil
			return e
		}
	}
	if err := runInitWith(t, f, noDocker, "--provider", "anthropic", "--channels", "telegram", "--allow", "me@example.com"); err != nil {
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

// Without --allow, the allow list starts from the email of the token's user.
func TestInitAllowsTheTokensUser(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{}).Start()
	defer srv.Close()
	var email string
	srv.View(func(s *cfemu.State) { email = s.Account.Email })
	if email == "" {
		t.Skip("the emulator's account has no email")
	}
	env := map[string]string{"CLOUDFLARE_API_TOKEN": srv.Token(), "CLOUDFLARE_API_BASE_URL": srv.APIURL()}
	dir := project(t)
	f, _, errOut := testFactory(dir, env, true)
	if err := runInit(t, f, "--skip-doctor"); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	if got := readFile(t, filepath.Join(dir, ManifestName)); !strings.Contains(got, `- "`+email+`"`) {
		t.Errorf("the allow list does not hold %s:\n%s", email, got)
	}
}

// A re-run keeps the source the user gave a secret init manages, whatever
// kind it is: {dotenv} must not go back to {generate} (a new gateway token).
func TestInitRerunKeepsTheUsersSources(t *testing.T) {
	t.Parallel()
	dir := project(t)
	f, _, errOut := testFactory(dir, nil, true)
	if err := runInit(t, f, "--allow", "me@example.com", "--skip-doctor"); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut)
	}
	path := filepath.Join(dir, ManifestName)
	got := readFile(t, path)
	edited := strings.Replace(got, "MOLTBOT_GATEWAY_TOKEN: {generate: hex32}", "MOLTBOT_GATEWAY_TOKEN: {dotenv: .env}", 1)
	if edited == got {
		t.Fatalf("the manifest has no generated gateway token:\n%s", got)
	}
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runInit(t, f, "--sleep-after", "30m", "--skip-doctor"); err != nil {
		t.Fatalf("second init: %v\n%s", err, errOut)
	}
	if got := readFile(t, path); !strings.Contains(got, "MOLTBOT_GATEWAY_TOKEN: {dotenv: .env}") {
		t.Errorf("the re-run changed the gateway token's source:\n%s", got)
	}
}
