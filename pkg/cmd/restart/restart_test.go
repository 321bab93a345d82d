package restart

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

func TestRestartAppliesChangedSecret(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	ctx := context.Background()

	// Start the gateway, then change a secret: it reaches the gateway only after a restart.
	f, _, _ := fx.Factory()
	if err := restartRun(ctx, &RestartOptions{Factory: f, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	before := fx.Srv.Gateway(opstest.Worker)
	fx.Srv.Update(func(st *cfemu.State) { st.Scripts[opstest.Worker].Secrets["ANTHROPIC_API_KEY"] = "sk-ant-new" })

	f, _, outputs := fx.Factory()
	f.Global.Output = cmdutil.OutputJSON
	if err := restartRun(ctx, &RestartOptions{Factory: f, Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	out, _ := outputs()
	var res Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	after := fx.Srv.Gateway(opstest.Worker)
	if res.Status != "running" || res.PreviousProcessID != before.ProcessID || res.ProcessID != after.ProcessID || after.ProcessID == before.ProcessID {
		t.Errorf("result %+v, before %s, after %s", res, before.ProcessID, after.ProcessID)
	}
	if after.Env["ANTHROPIC_API_KEY"] != cfemu.ShortHash("sk-ant-new") {
		t.Errorf("gateway env not updated: %v", after.Env)
	}
}

func TestRestartNeedsDeploy(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	f, _, _ := fx.Factory()
	err := restartRun(context.Background(), &RestartOptions{Factory: f, Timeout: time.Minute})
	if err == nil || !strings.Contains(clierr.HintOf(err), "moltctl deploy") {
		t.Fatalf("err = %v, hint %q", err, clierr.HintOf(err))
	}
}
