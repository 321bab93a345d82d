package cfapi

import (
	"context"
	"fmt"
	"testing"

	"github.com/moltctl/moltctl/pkg/cfemu"
)

// Access lists come in pages; an account with more applications or service
// tokens than one page holds must still be read whole, or deploy would
// create a second application for the Worker.
func TestAccessListsReadEveryPage(t *testing.T) {
	t.Parallel()
	srv := emu(t, cfemu.ScenarioReady)
	srv.Update(func(s *cfemu.State) {
		if s.Access.Apps == nil {
			s.Access.Apps = map[string]*cfemu.AccessApp{}
		}
		if s.Access.ServiceTokens == nil {
			s.Access.ServiceTokens = map[string]*cfemu.ServiceToken{}
		}
		for i := range 130 {
			id := fmt.Sprintf("app-%03d", i)
			s.Access.Apps[id] = &cfemu.AccessApp{ID: id, Name: id, Type: "self_hosted", Domain: id + ".example.com"}
			tid := fmt.Sprintf("tok-%03d", i)
			s.Access.ServiceTokens[tid] = &cfemu.ServiceToken{ID: tid, Name: tid, ClientID: tid + ".access"}
		}
	})
	c := New(Options{BaseURL: srv.APIURL(), Token: srv.Token(), AccountID: srv.AccountID()})
	apps, err := c.ListAccessApps(context.Background())
	if err != nil || len(apps) != 130 {
		t.Errorf("ListAccessApps = %d apps, %v; want 130", len(apps), err)
	}
	toks, err := c.ListServiceTokens(context.Background())
	if err != nil || len(toks) != 130 {
		t.Errorf("ListServiceTokens = %d tokens, %v; want 130", len(toks), err)
	}
}
