package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The binary talks to Cloudflare with plain net/http. cloudflare-go's root
// package links every one of its service packages (tens of MB); it is used
// only by the emulator's conformance test, never by moltctl.
func TestBinaryDoesNotLinkCloudflareGo(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/cloudflare/cloudflare-go") {
			t.Errorf("moltctl links %s", p)
		}
	}
}
