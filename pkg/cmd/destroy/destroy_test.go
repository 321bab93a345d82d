package destroy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/destroy"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmd/root"
)

// moltctl runs the command tree in-process, as the binary would.
func moltctl(t *testing.T, fx *opstest.Fixture, args ...string) (int, string, string) {
	t.Helper()
	f, _, outputs := fx.Factory()
	code := root.Run(context.Background(), f, args)
	out, errOut := outputs()
	return code, out, errOut
}

// leftovers lists what a deploy created that is still in the emulator.
func leftovers(fx *opstest.Fixture) []string {
	var left []string
	fx.Srv.View(func(st *cfemu.State) {
		if st.Scripts[opstest.Worker] != nil {
			left = append(left, "worker")
		}
		for _, a := range st.Containers.Applications {
			left = append(left, "container application "+a.Name)
		}
		for _, a := range st.Access.Apps {
			left = append(left, "access app "+a.ID)
		}
		for _, p := range st.Access.Policies {
			left = append(left, "access policy "+p.ID)
		}
		for _, tk := range st.Access.ServiceTokens {
			left = append(left, "service token "+tk.Name)
		}
		for _, tk := range st.Tokens {
			if tk.ID == fx.Deployment.R2Token.ID {
				left = append(left, "r2 token")
			}
		}
		if st.Buckets[opstest.Bucket] != nil {
			left = append(left, "bucket")
		}
	})
	return left
}

// TestPairStatusDestroy is the verification: a deployment in the
// emulator, a pending device approved with `devices approve --all`, seen
// paired, `status` healthy, then `destroy` leaves nothing deploy created
// but the bucket, and `--delete-data` removes the bucket too.
func TestPairStatusDestroy(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	id, err := fx.Srv.AddPendingDevice(opstest.Worker)
	if err != nil {
		t.Fatal(err)
	}

	if code, out, errOut := moltctl(t, fx, "devices", "approve", "--all"); code != 0 || !strings.Contains(out, "Approved "+id) {
		t.Fatalf("approve --all: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := moltctl(t, fx, "devices", "list", "--output", "json")
	var l assistant.DeviceList
	if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Paired) != 1 || len(l.Pending) != 0 {
		t.Fatalf("devices list: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := moltctl(t, fx, "status", "--wait", "1m"); code != clierr.ExitOK || !strings.Contains(out, "Healthy.") {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}

	// Not interactive and no --yes: refused, nothing removed.
	if code, _, errOut := moltctl(t, fx, "destroy"); code != clierr.ExitUsage || !strings.Contains(errOut, "--yes") {
		t.Fatalf("destroy without --yes: exit %d\n%s", code, errOut)
	}
	if len(leftovers(fx)) != 7 {
		t.Fatalf("before destroy: %v", leftovers(fx))
	}
	// --dry-run shows the plan and removes nothing.
	code, out, _ = moltctl(t, fx, "destroy", "--dry-run")
	if code != 0 || !strings.Contains(out, "delete worker molt") || !strings.Contains(out, "keep R2 bucket molt-data") || len(leftovers(fx)) != 7 {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}

	code, out, errOut = moltctl(t, fx, "destroy", "--yes")
	if code != 0 {
		t.Fatalf("destroy: exit %d\n%s%s", code, out, errOut)
	}
	if left := leftovers(fx); len(left) != 1 || left[0] != "bucket" {
		t.Errorf("after destroy: %v", left)
	}
	if _, err := os.Stat(filepath.Join(fx.Dir, ".moltctl", opstest.Worker, "credentials.json")); !os.IsNotExist(err) {
		t.Errorf("credentials still on disk: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fx.Dir, ".moltctl", opstest.Worker, "state.json")); !os.IsNotExist(err) {
		t.Errorf("state still on disk: %v", err)
	}

	// Safe to re-run; --delete-data then removes the bucket.
	code, out, errOut = moltctl(t, fx, "destroy", "--yes", "--output", "json")
	var res destroy.Result
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.StateCleared {
		t.Fatalf("re-run: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := moltctl(t, fx, "destroy", "--yes", "--delete-data"); code != 0 {
		t.Fatalf("delete data: exit %d\n%s%s", code, out, errOut)
	}
	if left := leftovers(fx); len(left) != 0 {
		t.Errorf("after --delete-data: %v", left)
	}
}

// --log-format kv gives one step=… line per object (deploy's format);
// without it the lines are for people, with no step=… in them.
func TestDestroyLogFormat(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	if code, _, errOut := moltctl(t, fx, "destroy", "--yes", "--log-format", "json"); code != clierr.ExitUsage || !strings.Contains(errOut, "--log-format must be text or kv") {
		t.Fatalf("--log-format json: exit %d\n%s", code, errOut)
	}
	code, _, errOut := moltctl(t, fx, "destroy", "--yes", "--log-format", "kv")
	if code != 0 || !strings.Contains(errOut, `step=delete status=deleted duration=`) || !strings.Contains(errOut, "step=clear-state status=done") {
		t.Fatalf("kv: exit %d\n%s", code, errOut)
	}
	if strings.Contains(errOut, "Deleted ") || strings.Contains(errOut, "Destroyed ") {
		t.Errorf("kv output has the people's lines too:\n%s", errOut)
	}
	code, _, errOut = moltctl(t, fx, "destroy", "--yes")
	if code != 0 || strings.Contains(errOut, "step=") || !strings.Contains(errOut, "Nothing to destroy") {
		t.Errorf("text: exit %d\n%s", code, errOut)
	}
}
