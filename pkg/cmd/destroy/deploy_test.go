package destroy_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
	"github.com/moltctl/moltctl/pkg/iostreams"
	"github.com/moltctl/moltctl/pkg/remotestate"
)

// TestDeployPairStatusDestroy is the verification with a real
// `moltctl deploy` of the example project to the emulator (Docker builds
// the image): approve a pending device, see it paired, status healthy,
// then destroy leaves only the bucket, and --delete-data removes it.
func TestDeployPairStatusDestroy(t *testing.T) {
	t.Parallel()
	testenv.RequireDocker(t)
	srv := cfemu.New(cfemu.Options{ColdStart: 50 * time.Millisecond}).Start()
	defer srv.Close()
	dir := testenv.CopyExample(t)
	env := map[string]string{
		"CLOUDFLARE_API_BASE_URL": srv.APIURL(), "CLOUDFLARE_API_TOKEN": srv.Token(), "CLOUDFLARE_ACCOUNT_ID": srv.AccountID(),
		"CLOUDFLARE_CONTAINER_REGISTRY": srv.RegistryHost(), "MOLTCTL_WORKERS_DEV_URL": srv.WorkersDevURLTemplate(),
		"ANTHROPIC_API_KEY":  "sk-ant-api03-test-0000000000000000000000000000000000000000",
		"MOLTCTL_CONFIG_DIR": t.TempDir(),
	}
	moltctl := func(args ...string) (int, string, string) {
		t.Helper()
		ios, _, out, errOut := iostreams.Test()
		f := root.NewFactory(ios, func(k string) string { return env[k] }, dir)
		code := root.Run(context.Background(), f, args)
		return code, out.String(), errOut.String()
	}
	const worker = "moltbot-sandbox"

	if code, out, errOut := moltctl("deploy", "--yes"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s%s", code, out, errOut)
	}
	// Everything after the deploy runs from another checkout with the same
	// key: the state is in the account, not in the first checkout.
	dir = testenv.CopyExample(t)
	if code, out, errOut := moltctl("open", "--no-browser", "--output", "json"); code != 0 || !strings.Contains(out, `"token_included": true`) {
		t.Fatalf("open from a second checkout: exit %d\n%s%s", code, out, errOut)
	}
	// Without the key the admin API is out of reach, and it says why.
	keyDir := env["MOLTCTL_CONFIG_DIR"]
	env["MOLTCTL_CONFIG_DIR"] = t.TempDir()
	if code, out, errOut := moltctl("devices", "list"); code == 0 || !strings.Contains(errOut, "sealed") {
		t.Errorf("devices list without the key: exit %d\n%s%s", code, out, errOut)
	}
	env["MOLTCTL_CONFIG_DIR"] = keyDir
	id, err := srv.AddPendingDevice(worker)
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := moltctl("devices", "approve", "--all"); code != 0 || !strings.Contains(out, "Approved "+id) {
		t.Fatalf("approve --all: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := moltctl("devices", "list", "--output", "json")
	var l assistant.DeviceList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Pending) != 0 || len(l.Paired) == 0 {
		t.Fatalf("devices list: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := moltctl("status", "--wait", "1m"); code != clierr.ExitOK {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}

	created := func() (left []string) {
		srv.View(func(st *cfemu.State) {
			if st.Scripts[worker] != nil {
				left = append(left, "worker")
			}
			for _, a := range st.Containers.Applications {
				left = append(left, "container application "+a.Name)
			}
			for _, a := range st.Access.Apps {
				left = append(left, "access app "+a.Name)
			}
			for _, tk := range st.Access.ServiceTokens {
				left = append(left, "service token "+tk.Name)
			}
			for _, tk := range st.Tokens {
				// Tokens deploy creates are named "moltctl ..."; the emulator has others of its own.
				if strings.HasPrefix(tk.Name, "moltctl ") {
					left = append(left, "api token "+tk.Name)
				}
			}
			for name, b := range st.Buckets {
				if name == remotestate.Bucket {
					// moltctl's own bucket stays; the Worker's state goes.
					if b.Store[remotestate.ObjectKey(worker)] != nil {
						left = append(left, "state object")
					}
					continue
				}
				left = append(left, "bucket "+name)
			}
		})
		return left
	}
	before := strings.Join(created(), "|")
	for _, want := range []string{"worker", "container application", "access app", "service token", "api token moltctl", "bucket", "state object"} {
		if !strings.Contains(before, want) {
			t.Errorf("deploy did not leave a %s: %s", want, before)
		}
	}
	if code, out, errOut := moltctl("destroy", "--yes"); code != 0 {
		t.Fatalf("destroy: exit %d\n%s%s", code, out, errOut)
	}
	left := created()
	if len(left) != 1 || !strings.HasPrefix(left[0], "bucket ") {
		t.Fatalf("after destroy: %v", left)
	}
	if code, out, errOut := moltctl("destroy", "--yes", "--delete-data"); code != 0 {
		t.Fatalf("destroy --delete-data: exit %d\n%s%s", code, out, errOut)
	}
	if left := created(); len(left) != 0 {
		t.Errorf("after --delete-data: %v", left)
	}
}
