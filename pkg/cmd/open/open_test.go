package open

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/cmd/internal/opstest"
	"github.com/moltctl/moltctl/pkg/cmdutil"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	tests := []struct {
		name      string
		opts      OpenOptions
		tty       bool
		env       map[string]string
		wantURL   string
		noToken   bool
		wantOpen  bool
		showToken bool
	}{
		{"piped: print masked, never open", OpenOptions{}, false, nil, fx.URL() + "/?token=********", false, false, false},
		{"show token", OpenOptions{ShowToken: true}, false, nil, fx.URL() + "/?token=" + opstest.GatewayToken, false, false, true},
		{"admin", OpenOptions{Admin: true}, false, nil, fx.URL() + "/_admin/", true, false, false},
		{"desktop opens", OpenOptions{}, true, map[string]string{"DISPLAY": ":0"}, fx.URL() + "/?token=********", false, true, false},
		{"CI never opens", OpenOptions{}, true, map[string]string{"DISPLAY": ":0", "CI": "true"}, fx.URL() + "/?token=********", false, false, false},
	}
	for _, tt := range tests {
		// Not parallel: the cases share one deployed fixture and change its
		// environment in turn.
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				fx.Env[k] = v
			}
			defer func() {
				for k := range tt.env {
					delete(fx.Env, k)
				}
			}()
			f, ios, outputs := fx.Factory()
			ios.SetTTY(tt.tty)
			opts := tt.opts
			opts.Factory = f
			var opened string
			opts.Browse = func(u string) error { opened = u; return nil }
			if err := openRun(context.Background(), &opts); err != nil {
				t.Fatal(err)
			}
			out, errOut := outputs()
			if !tt.wantOpen && !strings.Contains(errOut, "no browser opened") {
				t.Errorf("does not say it opened nothing: %q", errOut)
			}
			if !tt.wantOpen && !tt.noToken && !tt.showToken && !strings.Contains(errOut, "open --show-token --no-browser") {
				t.Errorf("does not say how to get the whole URL: %q", errOut)
			}
			if strings.TrimSpace(out) != tt.wantURL {
				t.Errorf("printed %q, want %q", out, tt.wantURL)
			}
			if (opened != "") != tt.wantOpen {
				t.Errorf("opened %q", opened)
			}
			if opened != "" {
				// The token never goes on a command line: the browser gets a 0600 file.
				if strings.Contains(opened, opstest.GatewayToken) || !strings.HasPrefix(opened, "file://") {
					t.Errorf("browser got %q", opened)
				}
				p := strings.TrimPrefix(opened, "file://")
				fi, err := os.Stat(p)
				b, _ := os.ReadFile(p)
				if err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), opstest.GatewayToken) {
					t.Errorf("redirect file: %v %v %s", err, fi.Mode(), b)
				}
			}
			if !tt.showToken && strings.Contains(out, opstest.GatewayToken) {
				t.Errorf("token printed: %s", out)
			}
		})
	}

	f, _, outputs := fx.Factory()
	f.Global.Output = cmdutil.OutputJSON
	if err := openRun(context.Background(), &OpenOptions{Factory: f, Browse: func(string) error { t.Error("opened"); return nil }}); err != nil {
		t.Fatal(err)
	}
	out, _ := outputs()
	var res Result
	if json.Unmarshal([]byte(out), &res) != nil || !res.TokenIncluded || res.Opened || strings.Contains(out, opstest.GatewayToken) {
		t.Errorf("json: %s", out)
	}
}

// After the Worker is gone (destroy), open fails instead of printing a URL
// that leads nowhere.
func TestOpenNothingDeployed(t *testing.T) {
	t.Parallel()
	fx := opstest.New(t)
	fx.Deploy(t)
	fx.Srv.Update(func(st *cfemu.State) { delete(st.Scripts, opstest.Worker) })
	f, _, outputs := fx.Factory()
	err := openRun(context.Background(), &OpenOptions{Factory: f, Browse: func(string) error { t.Error("opened"); return nil }})
	if err == nil || !strings.Contains(err.Error(), "not deployed") {
		t.Errorf("err = %v", err)
	}
	if out, _ := outputs(); out != "" {
		t.Errorf("printed %q", out)
	}
}
