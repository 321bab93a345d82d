// Package open implements `moltctl open`.
package open

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/internal/atomicfile"
	"github.com/moltctl/moltctl/pkg/remotestate"
)

// OpenOptions are the inputs of `moltctl open`.
type OpenOptions struct {
	Factory   *cmdutil.Factory
	Admin     bool
	ShowToken bool
	NoBrowser bool
	// Browse opens a URL in the desktop's browser; tests replace it.
	Browse func(url string) error
}

// Result is what open prints with --output json.
type Result struct {
	URL string `json:"url"`
	// TokenIncluded is whether URL carries the gateway token (masked unless --show-token).
	TokenIncluded bool `json:"token_included"`
	Opened        bool `json:"opened"`
}

// NewCmdOpen returns the open command.
func NewCmdOpen(f *cmdutil.Factory, runF func(context.Context, *OpenOptions) error) *cobra.Command {
	opts := &OpenOptions{Factory: f, Browse: browse}
	cmd := &cobra.Command{
		Use:   "open",
		Short: "Print or open the Control UI URL",
		Long: `Print the Control UI URL with its gateway token and, on a desktop terminal,
open it in the browser. The token in the printed URL is masked unless
--show-token is given; the browser always gets the real URL.

Cloudflare Access asks you to sign in first. The first visit from a new
browser shows "Pairing required": approve it with
moltctl devices approve --wait.`,
		Example: `  moltctl open
  moltctl open --admin
  moltctl open --show-token --no-browser`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return openRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Admin, "admin", false, "the admin UI (/_admin/) instead of the Control UI")
	cmd.Flags().BoolVar(&opts.ShowToken, "show-token", false, "print the gateway token in the URL instead of masking it")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "only print the URL")
	return cmd
}

const tokenName = "MOLTBOT_GATEWAY_TOKEN"

func openRun(ctx context.Context, opts *OpenOptions) error {
	f := opts.Factory
	t, err := f.Target(ctx, false)
	if err != nil {
		return err
	}
	if t.URL == "" {
		return &clierr.HintError{Err: fmt.Errorf("the URL of Worker %q is unknown", t.Worker), Fix: "run `" + f.Command("deploy") + "` first"}
	}
	// A URL is known from the account's subdomain even when nothing is
	// deployed (after destroy): ask Cloudflare whether the Worker is there.
	if t.API != nil {
		if _, err := t.API.DeployedVersion(ctx, t.Worker); cfapi.NotFound(err) || cfapi.HasCode(err, 10007) {
			return &clierr.HintError{Err: fmt.Errorf("worker %q is not deployed", t.Worker), Fix: "run `" + f.Command("deploy") + "` first"}
		}
	}
	base := strings.TrimRight(t.URL, "/")
	real, shown := base+"/", base+"/"
	res := &Result{}
	if opts.Admin {
		real, shown = base+"/_admin/", base+"/_admin/"
	} else if tok := t.Credentials.Generated[tokenName]; tok != "" {
		real = assistant.ControlUIURL(base, tok, true)
		shown = assistant.ControlUIURL(base, tok, opts.ShowToken)
		res.TokenIncluded = true
	} else if t.Keeper != nil && t.Keeper.Locked {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s is sealed in the account to a key this machine lacks, so it is not in the URL: copy moltctl's key file here or set $%s (docs/state.md)\n",
			f.IOStreams.ColorScheme().WarningIcon(), tokenName, remotestate.EnvKey)
	} else {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s moltctl did not generate %s, so it cannot add it to the URL: append ?token=<your token>\n",
			f.IOStreams.ColorScheme().WarningIcon(), tokenName)
	}
	res.URL = shown
	why := "" // why no browser was opened
	switch {
	case opts.NoBrowser || f.Global.JSON():
	case !canBrowse(f):
		why = "no browser opened: this is not a desktop terminal (no display, SSH or CI)"
	default:
		if err := openURL(opts, t.Store.Dir, real, res.TokenIncluded); err == nil {
			res.Opened = true
		} else {
			why = fmt.Sprintf("could not open a browser: %v", err)
		}
	}
	if f.Global.JSON() {
		return cmdutil.WriteJSON(f.IOStreams.Out, res)
	}
	fmt.Fprintln(f.IOStreams.Out, shown)
	if why != "" {
		how := "open the URL above in your browser"
		if res.TokenIncluded && !opts.ShowToken {
			how = "the token in the URL above is masked: `" + f.Command("open --show-token --no-browser") + "` prints the whole URL to open in your browser"
		}
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s; %s\n", f.IOStreams.ColorScheme().WarningIcon(), why, how)
	}
	if res.Opened {
		fmt.Fprintln(f.IOStreams.ErrOut, "Opened in your browser. Sign in through Cloudflare Access; a new browser needs pairing: moltctl devices approve --wait")
	}
	return nil
}

// canBrowse is true only for a person at a desktop terminal: never in CI,
// over SSH, or without a display.
func canBrowse(f *cmdutil.Factory) bool {
	if !f.IOStreams.IsStdoutTTY() || !f.IOStreams.IsStdinTTY() {
		return false
	}
	if v := f.Getenv("CI"); v != "" && v != "false" && v != "0" {
		return false
	}
	if f.Getenv("SSH_CONNECTION") != "" {
		return false
	}
	if runtime.GOOS == "linux" && f.Getenv("DISPLAY") == "" && f.Getenv("WAYLAND_DISPLAY") == "" {
		return false
	}
	return true
}

// openURL opens u in the browser. A URL carrying the token never goes on a
// command line (other users can read process arguments): the browser gets
// a 0600 file beside moltctl's credentials that redirects to it.
func openURL(opts *OpenOptions, dir, u string, secret bool) error {
	if !secret {
		return opts.Browse(u)
	}
	p := filepath.Join(dir, "open.html")
	js, _ := json.Marshal(u) // escapes <, > and & too
	page := "<!doctype html><meta charset=utf-8><meta name=referrer content=no-referrer><title>moltctl</title>" +
		"<script>location.replace(" + string(js) + ")</script>\n"
	if err := atomicfile.WriteFile(p, []byte(page), 0o600); err != nil {
		return err
	}
	return opts.Browse((&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String())
}

// browse opens u with the desktop's opener.
func browse(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	return cmd.Start()
}
