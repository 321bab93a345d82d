// Package version implements `moltctl version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/moltctl/moltctl/pkg/buildinfo"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/spf13/cobra"
)

// Info is the JSON form of `moltctl version --output json`.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Current returns the running binary's version information.
func Current() Info {
	v, c, d := buildinfo.Resolved()
	return Info{Version: v, Commit: c, Date: d, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// String is the one-line text form, also used for --version.
func (i Info) String() string {
	s := "moltctl version " + i.Version
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if i.Date != "" {
			s += ", " + i.Date
		}
		s += ")"
	}
	return s
}

// NewCmdVersion returns the version command.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the moltctl version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := Current()
			if f.Global.JSON() {
				return cmdutil.WriteJSON(f.IOStreams.Out, info)
			}
			_, err := fmt.Fprintf(f.IOStreams.Out, "%s %s/%s\n", info, info.OS, info.Arch)
			return err
		},
	}
}
