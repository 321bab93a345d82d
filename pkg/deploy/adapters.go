package deploy

import (
	"context"
	"net/http"
	"time"

	"github.com/moltctl/moltctl/pkg/assistant"
	"github.com/moltctl/moltctl/pkg/cfapi"
)

// NewAssistants returns the factory of the deployed Worker's admin client
// (pkg/assistant), which sends the Access service token and never asks
// for HTML.
func NewAssistants(hc *http.Client) AssistantFactory {
	return func(baseURL, id, secret string) Assistant {
		c := assistant.New(baseURL, assistant.ServiceToken{ClientID: id, ClientSecret: secret}, hc)
		return &assistantAdapter{c: c}
	}
}

type assistantAdapter struct{ c *assistant.Client }

func (a *assistantAdapter) Running(ctx context.Context) (bool, error) {
	st, err := a.c.Status(ctx)
	if err != nil {
		return false, err
	}
	return st.OK && st.Status == assistant.StatusRunning, nil
}

func (a *assistantAdapter) Restart(ctx context.Context) error {
	_, err := a.c.Restart(ctx)
	return err
}

func (a *assistantAdapter) WaitRunning(ctx context.Context, timeout time.Duration, tick func(string, time.Duration)) error {
	_, err := a.c.WaitRunning(ctx, timeout, func(st *assistant.GatewayStatus, elapsed time.Duration) {
		s := "no answer"
		if st != nil {
			s = st.Status
		}
		if tick != nil {
			tick(s, elapsed)
		}
	})
	return err
}

// APISecrets sets Worker secrets through pkg/cfapi's secrets calls: the
// list of names and one bulk request for the changed ones.
type APISecrets struct{ API *cfapi.Client }

// SecretNames lists the Worker's secret names.
func (s APISecrets) SecretNames(ctx context.Context, script string) ([]string, error) {
	list, err := s.API.ListSecrets(ctx, script)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(list))
	for i, o := range list {
		names[i] = o.Name
	}
	return names, nil
}

// BulkSecrets sets and deletes secrets in one request.
func (s APISecrets) BulkSecrets(ctx context.Context, script string, set map[string]string, unset []string) error {
	return s.API.BulkSecrets(ctx, script, set, unset)
}
