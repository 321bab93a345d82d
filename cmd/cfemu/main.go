// Command cfemu serves moltctl's Cloudflare API emulator on 127.0.0.1, for
// the demo, the benchmarks and manual use. It refuses other addresses unless
// --listen-any is given. See docs/emulator.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cfemu:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then saves the state when --state is set.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cfemu", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on (loopback only, unless --listen-any)")
	listenAny := fs.Bool("listen-any", false, "allow --addr to be a non-loopback address: anyone who reaches it can read every secret the emulator holds")
	accountID := fs.String("account-id", "", "account id (default: generated)")
	token := fs.String("token", "", "API token the emulator accepts (default: generated)")
	scenario := fs.String("scenario", cfemu.ScenarioReady, "initial account: ready or new-account")
	latency := fs.Duration("latency", 0, "latency added to every API and registry request, e.g. 50ms")
	logPath := fs.String("log", "", "write one JSON line per request to this file")
	statePath := fs.String("state", "", "load state from this JSON file if it exists, and save to it on exit")
	coldStart := fs.Duration("cold-start", 3*time.Second, "how long the deployed gateway takes to start")
	faultRate := fs.Float64("fault-rate", 0, "fraction of API and registry requests that fail (0-1)")
	faultKinds := fs.String("fault-kinds", "", "comma-separated faults to draw from: "+strings.Join(cfemu.AllFaultKinds, ","))
	faultSeed := fs.Uint64("fault-seed", 1, "seed for a repeatable fault sequence")
	failAt := fs.String("fail-at", "", "comma-separated request numbers to fault (1-based)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *faultRate < 0 || *faultRate > 1 {
		return fmt.Errorf("--fault-rate must be between 0 and 1")
	}
	if *scenario != cfemu.ScenarioReady && *scenario != cfemu.ScenarioNewAccount {
		return fmt.Errorf("--scenario must be %s or %s", cfemu.ScenarioReady, cfemu.ScenarioNewAccount)
	}
	faults := cfemu.FaultOptions{Rate: *faultRate, Seed: *faultSeed}
	if *faultKinds != "" {
		for _, k := range strings.Split(*faultKinds, ",") {
			if !contains(cfemu.AllFaultKinds, k) {
				return fmt.Errorf("--fault-kinds: unknown fault %q (known: %s)", k, strings.Join(cfemu.AllFaultKinds, ","))
			}
			faults.Kinds = append(faults.Kinds, k)
		}
	}
	if *failAt != "" {
		for _, n := range strings.Split(*failAt, ",") {
			v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			if err != nil || v < 1 {
				return fmt.Errorf("--fail-at: %q is not a request number", n)
			}
			faults.FailAt = append(faults.FailAt, v)
		}
	}
	opts := cfemu.Options{AccountID: *accountID, Token: *token, Scenario: *scenario, Latency: *latency,
		ColdStart: *coldStart, Faults: faults, ListenAny: *listenAny}
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.Log = f
	}
	srv := cfemu.New(opts)
	if *statePath != "" {
		if _, err := os.Stat(*statePath); err == nil {
			if err := srv.Load(*statePath); err != nil {
				return err
			}
		}
	}
	if _, err := srv.Listen(*addr); err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "api: %s\naccount: %s\ntoken: %s\nregistry: %s\nworkers_dev: %s\n",
		srv.APIURL(), srv.AccountID(), srv.Token(), srv.RegistryHost(), srv.WorkersDevURLTemplate())

	<-ctx.Done()
	if *statePath != "" {
		return srv.Save(*statePath)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
