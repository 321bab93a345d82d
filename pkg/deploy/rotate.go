package deploy

import (
	"fmt"
	"strings"

	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/manifest"
)

// Credentials moltctl makes and can rotate, by the name `secrets rotate` takes.
const (
	RotateGatewayToken = "MOLTBOT_GATEWAY_TOKEN"
	RotateServiceToken = "service-token"
	RotateR2Token      = "r2-token"
)

// Rotatable lists what RotateSteps accepts.
func Rotatable() []string { return []string{RotateGatewayToken, RotateServiceToken, RotateR2Token} }

// RotateSteps forgets the credential name, so that the steps it returns
// make a new one and put it everywhere it is held: the Worker's secrets
// (then a restart of the gateway), Access's policy, the sealed copy in
// the account.
func (st *State) RotateSteps(name string) ([]Step, error) {
	if st.Saved.locked() {
		return nil, errLocked("rotating " + name + " means keeping the new one")
	}
	switch name {
	case RotateGatewayToken:
		var s manifest.Secret
		ok := false
		if st.In.Manifest != nil {
			s, ok = st.In.Manifest.Secret(name)
		}
		if !ok || s.Source.Kind != manifest.SourceGenerate {
			return nil, clierr.WithHint(fmt.Errorf("moltctl did not generate %s, so it cannot rotate it", name),
				"change the value where moltctl.yaml reads it from, then run `moltctl secrets set "+name+"`")
		}
		delete(st.Saved.Creds.Generated, name)
	case RotateServiceToken:
		st.Saved.Creds.ServiceTokenClientSecret = ""
	case RotateR2Token:
		if !st.In.wantsR2() {
			return nil, clierr.WithHint(fmt.Errorf("the assistant has no R2 token: persistence to R2 is off"), "turn on persistence.r2 in moltctl.yaml and deploy")
		}
		delete(st.Saved.Creds.Generated, credR2KeyID)
		delete(st.Saved.Creds.Generated, credR2Secret)
	default:
		return nil, &clierr.UsageError{Err: fmt.Errorf("moltctl cannot rotate %q", name), Fix: "name one of " + strings.Join(Rotatable(), ", ")}
	}
	return []Step{&accessStep{}, &r2CredentialsStep{}, &secretsStep{}, &restartStep{}, &waitStep{}}, nil
}
