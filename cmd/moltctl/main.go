// Command moltctl deploys and operates a moltworker assistant on Cloudflare.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := root.Main(ctx, os.Args[1:], iostreams.System(os.Getenv), os.Getenv)
	stop()
	os.Exit(code)
}
