// Package buildinfo holds the version stamped into the binary at release time.
package buildinfo

import "runtime/debug"

// Version, Commit and Date are set by the release build through -ldflags -X.
var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// Resolved returns the version and commit, falling back to what the Go
// toolchain recorded when the binary was built without release flags.
func Resolved() (version, commit, date string) {
	version, commit, date = Version, Commit, Date
	if info, ok := debug.ReadBuildInfo(); ok {
		if version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	return version, commit, date
}
