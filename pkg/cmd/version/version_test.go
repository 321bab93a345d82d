package version

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

func TestInfoString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info Info
		want string
	}{
		{"version only", Info{Version: "v1.2.3"}, "moltctl version v1.2.3"},
		{"short commit", Info{Version: "v1.2.3", Commit: "abc123"}, "moltctl version v1.2.3 (abc123)"},
		{"long commit is cut to 12", Info{Version: "dev", Commit: "0123456789abcdef0123"}, "moltctl version dev (0123456789ab)"},
		{"commit and date", Info{Version: "v1.0.0", Commit: "abc", Date: "2026-11-29"}, "moltctl version v1.0.0 (abc, 2026-11-29)"},
		// A date without a commit says nothing: it would read as a commit.
		{"date without commit", Info{Version: "v1.0.0", Date: "2026-11-29"}, "moltctl version v1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.info.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func run(t *testing.T, output string) string {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	f := &cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{Output: output}}
	cmd := NewCmdVersion(f)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr: %q", errOut.String())
	}
	return out.String()
}

func TestVersionText(t *testing.T) {
	t.Parallel()
	got := run(t, cmdutil.OutputText)
	want := Current().String() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if !strings.HasPrefix(got, "moltctl version ") {
		t.Errorf("output %q does not start with the program's name", got)
	}
}

func TestVersionJSON(t *testing.T) {
	t.Parallel()
	out := run(t, cmdutil.OutputJSON)
	// The names are a contract: decode into a map, not into Info.
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "go", "os", "arch"} {
		if s, _ := got[k].(string); s == "" {
			t.Errorf("%q missing or empty in %s", k, out)
		}
	}
	if got["go"] != runtime.Version() || got["os"] != runtime.GOOS || got["arch"] != runtime.GOARCH {
		t.Errorf("go/os/arch = %v/%v/%v, want %s/%s/%s", got["go"], got["os"], got["arch"], runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	for k := range got {
		switch k {
		case "version", "commit", "date", "go", "os", "arch":
		default:
			t.Errorf("unexpected key %q in %s", k, out)
		}
	}
}

func TestVersionTakesNoArgs(t *testing.T) {
	t.Parallel()
	ios, _, _, _ := iostreams.Test()
	cmd := NewCmdVersion(&cmdutil.Factory{IOStreams: ios, Global: &cmdutil.GlobalOptions{}})
	cmd.SetArgs([]string{"extra"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Fatal("version with an argument succeeded")
	}
}
