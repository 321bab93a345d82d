package image

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/clierr"
)

// The emulator's registry, with credentials from its Containers API, is
// what deploy pushes to in end-to-end tests.
func TestPushToEmulatorRegistry(t *testing.T) {
	t.Parallel()
	c := docker(t)
	srv := cfemu.New(cfemu.Options{}).Start()
	defer srv.Close()
	cf := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID()})
	ctx := context.Background()
	auth, err := Login(ctx, cf, srv.RegistryHost())
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{ContextDir: smallApp(t), Dockerfile: "Dockerfile"}
	repo := Repository(srv.RegistryHost(), srv.AccountID(), "moltbot-sandbox")
	res, err := BuildAndPush(ctx, c, Request{Spec: spec, Repository: repo, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	removeImages(t, c, res.Ref, LocalRef(res.Tag))
	if !srv.ImageExists(res.Ref) || !srv.ImageExists(res.DigestRef()) {
		t.Fatalf("emulator registry lacks %s / %s", res.Ref, res.DigestRef())
	}
	again, err := BuildAndPush(ctx, c, Request{Spec: spec, Repository: repo, Auth: auth})
	if err != nil || !again.Skipped || again.BytesPushed != 0 {
		t.Fatalf("re-run: %+v %v", again, err)
	}
	// Another account's repository is refused, and explained.
	_, err = BuildAndPush(ctx, c, Request{Spec: spec, Repository: Repository(srv.RegistryHost(), "0123456789abcdef0123456789abcdef", "x"), Auth: auth})
	var ae *RegistryAuthError
	if !errors.As(err, &ae) {
		t.Fatalf("other account: err = %v", err)
	}
}

func TestLoginWithoutContainers(t *testing.T) {
	t.Parallel()
	srv := cfemu.New(cfemu.Options{Scenario: cfemu.ScenarioNewAccount}).Start()
	defer srv.Close()
	cf := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID()})
	_, err := Login(context.Background(), cf, srv.RegistryHost())
	if err == nil || !strings.Contains(clierr.HintOf(err), "Workers Paid") || clierr.ExitCodeOf(err) != clierr.ExitPreflight {
		t.Fatalf("err = %v, hint %q", err, clierr.HintOf(err))
	}
}
