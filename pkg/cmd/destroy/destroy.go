// Package destroy implements `moltctl destroy`: remove what `moltctl
// deploy` created, safely and repeatably.
package destroy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/moltctl/moltctl/pkg/assistant/target"
	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/lease"
)

// DestroyOptions are the inputs of `moltctl destroy`.
type DestroyOptions struct {
	Factory    *cmdutil.Factory
	DeleteData bool
	DryRun     bool
	// LogFormat is --log-format: text or kv (a step=… line per object).
	LogFormat string
}

// Item is one object destroy removes (or keeps).
type Item struct {
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	ID   string `json:"id,omitempty"`
	// State is found, gone (already removed), kept, deleted or failed.
	State string `json:"state"`
	Error string `json:"error,omitempty"`

	del func(ctx context.Context) (bool, error)
}

// Result is what destroy reports with --output json.
type Result struct {
	Worker       string  `json:"worker"`
	DryRun       bool    `json:"dry_run"`
	Items        []*Item `json:"items"`
	StateCleared bool    `json:"state_cleared"`
}

// Item states.
const (
	StateFound   = "found"
	StateGone    = "gone"
	StateKept    = "kept"
	StateDeleted = "deleted"
	StateFailed  = "failed"
)

// NewCmdDestroy returns the destroy command.
func NewCmdDestroy(f *cmdutil.Factory, runF func(context.Context, *DestroyOptions) error) *cobra.Command {
	opts := &DestroyOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Remove everything deploy created",
		Long: `Remove what moltctl deploy created: the Worker, the container application
(which wrangler delete leaves behind), the Cloudflare Access application
and its policies, moltctl's Access service token and the R2 API token,
then moltctl's local state for this Worker.

The R2 bucket and the assistant's data in it (paired devices, settings,
workspace) are kept unless --delete-data is given; then you type the
bucket's name to confirm (or pass --yes when not interactive).

It shows what it will remove first, asks on a terminal, and needs --yes
otherwise. Objects already gone are skipped, so it is safe to re-run.`,
		Example: `  moltctl destroy
  moltctl destroy --dry-run
  moltctl destroy --yes                  # in CI
  moltctl destroy --delete-data          # also the bucket and its data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckLogFormat(opts.LogFormat); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return destroyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DeleteData, "delete-data", false, "also delete the R2 bucket and all the assistant's data in it")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be removed and stop")
	cmdutil.AddLogFormatFlag(cmd, &opts.LogFormat)
	return cmd
}

func destroyRun(ctx context.Context, opts *DestroyOptions) error {
	f := opts.Factory
	t, err := f.Target(ctx, true)
	if err != nil {
		return err
	}
	if t.AccountID == "" {
		return &clierr.UsageError{Err: errors.New("no Cloudflare account chosen"), Fix: "pass --account or set CLOUDFLARE_ACCOUNT_ID"}
	}
	if !opts.DryRun {
		unlock, err := t.Store.Lock(ctx, "moltctl destroy", false)
		if err != nil {
			return err
		}
		defer unlock()
		// Not while a deploy elsewhere is running; this also clears a lease
		// a dead deploy left.
		release, err := lease.Hold(ctx, t.API, t.Store, t.Worker, "moltctl destroy", lease.Options{}, f.IOStreams.Warn)
		if err != nil {
			return err
		}
		defer release()
	}
	f.IOStreams.StartProgress("Finding what deploy created")
	items, err := plan(ctx, t, opts.DeleteData)
	f.IOStreams.StopProgress()
	if err != nil {
		return err
	}
	res := &Result{Worker: t.Worker, DryRun: opts.DryRun, Items: items}
	nothing := true
	for _, it := range items {
		if it.State == StateFound {
			nothing = false
		}
	}
	if !f.Global.JSON() || opts.DryRun {
		printPlan(f, res, opts.DeleteData, nothing)
	}
	if opts.DryRun {
		if f.Global.JSON() {
			return cmdutil.WriteJSON(f.IOStreams.Out, res)
		}
		return nil
	}
	if err := confirm(f, t, items, opts.DeleteData); err != nil {
		return err
	}

	failed, hadLocal := 0, false
	for _, it := range items {
		if it.State != StateFound {
			continue
		}
		f.IOStreams.StartProgress(fmt.Sprintf("Deleting %s %s", it.Kind, it.label()))
		start := time.Now()
		existed, err := it.del(ctx)
		took := time.Since(start).Round(10 * time.Millisecond)
		f.IOStreams.StopProgress()
		switch {
		case err != nil:
			it.State, it.Error = StateFailed, err.Error()
			failed++
		case existed:
			it.State = StateDeleted
		default:
			it.State = StateGone
		}
		switch {
		case f.Global.JSON():
		case opts.LogFormat == cmdutil.LogKV:
			detail := strings.TrimSpace(it.Kind + " " + it.label())
			if it.Error != "" {
				detail += ": " + it.Error
			}
			cmdutil.WriteKV(f.IOStreams.ErrOut, "delete", it.State, took, detail)
		default:
			printItem(f, it)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if failed == 0 {
		if t.Keeper != nil {
			if err := t.Keeper.Delete(ctx); err != nil {
				return err
			}
		}
		cleared, err := clearState(t)
		if err != nil {
			return fmt.Errorf("clear local state: %w", err)
		}
		res.StateCleared = true
		// With nothing deployed, clearing files that were not there is not news.
		hadLocal = cleared
	}
	if f.Global.JSON() {
		if err := cmdutil.WriteJSON(f.IOStreams.Out, res); err != nil {
			return err
		}
	} else if res.StateCleared && opts.LogFormat == cmdutil.LogKV {
		cmdutil.WriteKV(f.IOStreams.ErrOut, "clear-state", "done", 0, ".moltctl/"+t.Worker)
	} else if nothing && hadLocal {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s Cleared the local state in .moltctl/%s.\n", f.IOStreams.ColorScheme().SuccessIcon(), t.Worker)
	} else if res.StateCleared && !nothing {
		fmt.Fprintf(f.IOStreams.ErrOut, "%s Destroyed %s and cleared its local state.\n", f.IOStreams.ColorScheme().SuccessIcon(), t.Worker)
	}
	if failed > 0 {
		err := fmt.Errorf("%d object(s) could not be deleted; local state is kept", failed)
		if f.Global.JSON() {
			return &clierr.SilentError{Code: clierr.ExitError}
		}
		return clierr.WithHint(err, "fix the cause above and run `moltctl destroy` again: it skips what is already gone")
	}
	return nil
}

func (it *Item) label() string {
	switch {
	case it.Name != "" && it.ID != "" && it.Name != it.ID:
		return fmt.Sprintf("%s (%s)", it.Name, it.ID)
	case it.Name != "":
		return it.Name
	default:
		return it.ID
	}
}

// clearState removes moltctl's files for this Worker (state, credentials,
// the open page) and reports whether there were any.
func clearState(t *target.Target) (bool, error) {
	removed := false
	for _, name := range []string{"state.json", "credentials.json", "open.html"} {
		err := os.Remove(t.Store.Dir + string(os.PathSeparator) + name)
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, os.ErrNotExist):
			return removed, err
		}
	}
	return removed, nil
}

// plan finds what exists, in the order it is removed: the Worker first so
// nothing is served while Access is taken down.
func plan(ctx context.Context, t *target.Target, deleteData bool) ([]*Item, error) {
	api := t.API
	st := t.State
	var items []*Item
	exists := func(path string) (bool, error) {
		err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: path}, nil)
		if err == nil {
			return true, nil
		}
		if cfapi.IsStatus(err, http.StatusNotFound) {
			return false, nil
		}
		return false, err
	}
	add := func(it *Item, found bool) {
		it.State = StateGone
		if found {
			it.State = StateFound
		}
		items = append(items, it)
	}

	// Worker.
	found, err := exists(api.AccountPath("workers/services/%s", url.PathEscape(t.Worker)))
	if err != nil {
		return nil, fmt.Errorf("look up Worker %q: %w", t.Worker, err)
	}
	add(&Item{Kind: "worker", Name: t.Worker, del: func(ctx context.Context) (bool, error) { return api.DeleteScript(ctx, t.Worker) }}, found)

	// Container application(s).
	if name := containerAppName(t); name != "" {
		apps, err := api.FindContainerAppsByName(ctx, name)
		if err != nil && !cfapi.IsStatus(err, http.StatusNotFound) {
			return nil, fmt.Errorf("look up container application %q: %w", name, err)
		}
		if len(apps) == 0 {
			add(&Item{Kind: "container application", Name: name}, false)
		}
		for _, a := range apps {
			id := a.ID
			add(&Item{Kind: "container application", Name: a.Name, ID: id, del: func(ctx context.Context) (bool, error) { return api.DeleteContainerApp(ctx, id) }}, true)
		}
	}

	// Access application and its policies, named by the domain they
	// protect as Cloudflare holds it (status names it the same way).
	var accessApps []cfapi.AccessAppRef
	if st.Access.AppID != "" {
		var app cfapi.AccessAppRef
		err := api.Do(ctx, cfapi.Request{Method: http.MethodGet, Path: api.AccountPath("access/apps/%s", url.PathEscape(st.Access.AppID))}, &app)
		switch {
		case err == nil:
			app.ID = st.Access.AppID
			accessApps = append(accessApps, app)
		case cfapi.IsStatus(err, http.StatusNotFound):
			add(&Item{Kind: "Access application", ID: st.Access.AppID}, false)
		default:
			return nil, fmt.Errorf("look up Access application: %w", err)
		}
	} else if host := accessHost(t); host != "" {
		apps, err := api.FindAccessAppsByDomain(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("look up Access applications for %s: %w", host, err)
		}
		accessApps = apps
	}
	for _, a := range accessApps {
		id := a.ID
		policies := st.Access.PolicyIDs
		if id != st.Access.AppID {
			policies = nil
		}
		add(&Item{Kind: "Access application", ID: id, Name: a.Domain, del: func(ctx context.Context) (bool, error) {
			return deleteAccessApp(ctx, api, id, policies)
		}}, true)
	}

	// Service token.
	if id := st.Access.ServiceTokenID; id != "" {
		ok, err := exists(api.AccountPath("access/service_tokens/%s", url.PathEscape(id)))
		if err != nil {
			return nil, fmt.Errorf("look up the Access service token: %w", err)
		}
		add(&Item{Kind: "Access service token", ID: id, Name: st.Access.ServiceTokenClientID, del: func(ctx context.Context) (bool, error) {
			return api.DeleteServiceToken(ctx, id)
		}}, ok)
	}

	// R2 API token: deleting is the only check (its read needs the same permission).
	if id := st.R2Token.ID; id != "" {
		add(&Item{Kind: "R2 API token", ID: id, del: func(ctx context.Context) (bool, error) { return api.DeleteAccountToken(ctx, id) }}, true)
	}

	// Bucket.
	if bucket := bucketName(t); bucket != "" {
		ok, err := exists(api.AccountPath("r2/buckets/%s", url.PathEscape(bucket)))
		if err != nil && !cfapi.HasCode(err, cfapi.CodeBucketNotFound) {
			return nil, fmt.Errorf("look up R2 bucket %q: %w", bucket, err)
		}
		it := &Item{Kind: "R2 bucket", Name: bucket, del: func(ctx context.Context) (bool, error) {
			if _, err := api.EmptyBucket(ctx, bucket); err != nil {
				return false, err
			}
			return api.DeleteBucket(ctx, bucket)
		}}
		add(it, ok)
		if ok && !deleteData {
			it.State = StateKept
		}
	}
	return items, nil
}

// deleteAccessApp removes the application's policies (app-scoped, or
// reusable ones moltctl created), then the application.
func deleteAccessApp(ctx context.Context, api *cfapi.Client, appID string, policies []string) (bool, error) {
	var reusable []string
	for _, p := range policies {
		ok, err := api.DeleteAccessAppPolicy(ctx, appID, p)
		if err != nil {
			return false, fmt.Errorf("delete policy %s: %w", p, err)
		}
		if !ok {
			reusable = append(reusable, p)
		}
	}
	existed, err := api.DeleteAccessApp(ctx, appID)
	if err != nil {
		return false, err
	}
	for _, p := range reusable {
		if _, err := api.DeleteAccessPolicy(ctx, p); err != nil {
			return existed, fmt.Errorf("delete policy %s: %w", p, err)
		}
	}
	return existed, nil
}

func containerAppName(t *target.Target) string {
	if t.State.ContainerApp.Name != "" {
		return t.State.ContainerApp.Name
	}
	if len(t.Config.Containers) > 0 {
		return t.Config.ContainerAppName(t.Config.Containers[0])
	}
	return ""
}

func bucketName(t *target.Target) string {
	if t.State.Bucket != "" {
		return t.State.Bucket
	}
	if b, ok := t.Config.Bucket("MOLTBOT_BUCKET"); ok {
		return b.BucketName
	}
	if b, ok := t.Config.Bucket(""); ok {
		return b.BucketName
	}
	return ""
}

// accessHost is the domain the Worker's Access application protects.
func accessHost(t *target.Target) string {
	if h := t.WorkersDevHost(); h != "" {
		return h
	}
	return hostOf(t.URL)
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

// printPlan lists what destroy removes; with nothing to remove (nothing),
// one line says so, and only a kept bucket is listed.
func printPlan(f *cmdutil.Factory, res *Result, deleteData, nothing bool) {
	w := f.IOStreams.ErrOut
	cs := f.IOStreams.ColorScheme()
	if res.DryRun && !f.Global.JSON() {
		w = f.IOStreams.Out
	}
	if nothing {
		fmt.Fprintf(w, "Nothing to destroy: %s is not deployed in this account.\n", res.Worker)
	} else {
		fmt.Fprintf(w, "moltctl destroy %s will:\n", res.Worker)
	}
	for _, it := range res.Items {
		switch {
		case it.State == StateKept:
			fmt.Fprintf(w, "  %s keep %s %s and its data (pass --delete-data to delete it)\n", cs.Gray("="), it.Kind, it.label())
		case nothing:
		case it.State == StateFound:
			fmt.Fprintf(w, "  %s delete %s %s\n", cs.Red("-"), it.Kind, it.label())
		case it.State == StateGone && it.label() != "":
			// A bucket is deleted only with --delete-data: without it,
			// one already gone is not news.
			if it.Kind != "R2 bucket" || deleteData {
				fmt.Fprintf(w, "  %s skip %s %s (already gone)\n", cs.Gray("·"), it.Kind, it.label())
			}
		}
	}
	if !nothing {
		fmt.Fprintf(w, "  %s clear local state in %s\n", cs.Red("-"), ".moltctl/"+res.Worker)
	}
}

func printItem(f *cmdutil.Factory, it *Item) {
	cs := f.IOStreams.ColorScheme()
	switch it.State {
	case StateDeleted:
		fmt.Fprintf(f.IOStreams.ErrOut, "%s Deleted %s %s\n", cs.SuccessIcon(), it.Kind, it.label())
	case StateGone:
		fmt.Fprintf(f.IOStreams.ErrOut, "%s %s %s was already gone\n", cs.SkippedIcon(), capitalize(it.Kind), it.label())
	case StateFailed:
		fmt.Fprintf(f.IOStreams.ErrOut, "%s Could not delete %s %s: %s\n", cs.FailureIcon(), it.Kind, it.label(), it.Error)
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// confirm asks on a terminal and requires --yes otherwise. Deleting data
// needs the bucket's name typed, or --yes.
func confirm(f *cmdutil.Factory, t *target.Target, items []*Item, deleteData bool) error {
	n := 0
	var bucket string
	for _, it := range items {
		if it.State == StateFound {
			n++
			if it.Kind == "R2 bucket" {
				bucket = it.Name
			}
		}
	}
	if f.Global.Yes || n == 0 {
		return nil
	}
	if !f.IOStreams.CanPrompt() {
		return &clierr.UsageError{Err: errors.New("destroy needs confirmation and moltctl is not running interactively"), Fix: "pass --yes to confirm"}
	}
	p := f.Prompter()
	if n > 0 {
		ok, err := p.Confirm(fmt.Sprintf("Delete these %d objects of %s?", n, t.Worker), false)
		if err != nil {
			return err
		}
		if !ok {
			return clierr.ErrCancelled
		}
	}
	if deleteData && bucket != "" {
		typed, err := p.Input(fmt.Sprintf("This deletes every paired device, setting and file of the assistant. Type the bucket name (%s) to confirm", bucket), "", nil)
		if err != nil {
			return err
		}
		if strings.TrimSpace(typed) != bucket {
			return clierr.ErrCancelled
		}
	}
	return nil
}
