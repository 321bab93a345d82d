package cfapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
)

func TestContainersAPI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scenario    string
		unavailable bool
	}{
		{cfemu.ScenarioReady, false},
		{cfemu.ScenarioNewAccount, true},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Parallel()
			srv := cfemu.New(cfemu.Options{Scenario: tt.scenario}).Start()
			defer srv.Close()
			c := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID()})
			ctx := context.Background()
			me, err := c.ContainersMe(ctx)
			if tt.unavailable {
				if !cfapi.ContainersUnavailable(err) {
					t.Fatalf("ContainersMe err = %v, want 401/403", err)
				}
				_, err = c.RegistryCredentials(ctx, srv.RegistryHost(), cfapi.RegistryPush, 15)
				if !cfapi.ContainersUnavailable(err) {
					t.Fatalf("RegistryCredentials err = %v, want 401/403", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if me.ExternalAccountID != srv.AccountID() || me.Limits.DiskMBPerDeployment <= 0 {
				t.Errorf("me = %+v", me)
			}
			cred, err := c.RegistryCredentials(ctx, srv.RegistryHost(), cfapi.RegistryPush, 15)
			if err != nil {
				t.Fatal(err)
			}
			if cred.Username == "" || cred.Password == "" {
				t.Fatalf("empty credentials: %s", cred)
			}
			for _, s := range []string{cred.String(), fmt.Sprintf("%v %+v %#v %v", cred, cred, cred, *cred)} {
				if strings.Contains(s, cred.Password) {
					t.Errorf("password printed: %s", s)
				}
			}
			if _, err := c.RegistryCredentials(ctx, "elsewhere.example", cfapi.RegistryPush, 15); err == nil || cfapi.ContainersUnavailable(err) {
				t.Errorf("unknown registry err = %v", err)
			}
		})
	}
}
