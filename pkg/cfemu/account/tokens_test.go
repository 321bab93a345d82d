package account

import (
	"testing"
	"time"
)

func TestCreateTokenNamesItsPermissions(t *testing.T) {
	t.Parallel()
	st := newReady()
	var itemWrite PermissionGroup
	for _, g := range PermissionGroups() {
		if g.Name == "Workers R2 Storage Bucket Item Write" {
			itemWrite = g
		}
	}
	if _, _, err := st.CreateToken("account", NewToken{Name: "r2"}); code(err) != 400 {
		t.Fatalf("no policies: %v", err)
	}
	bad := NewToken{Name: "r2", Policies: []TokenPolicy{{Effect: "allow", PermissionGroups: []PermissionGroup{{ID: "nope"}}, Resources: map[string]any{"x": "*"}}}}
	if _, _, err := st.CreateToken("account", bad); code(err) != 400 {
		t.Fatalf("unknown group: %v", err)
	}
	value, tok, err := st.CreateToken("account", NewToken{Name: "r2", Policies: []TokenPolicy{
		{Effect: "allow", PermissionGroups: []PermissionGroup{{ID: itemWrite.ID}}, Resources: map[string]any{"x": "*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Tokens[value] != tok || tok.Owner != "account" || !tok.Allows("Workers R2 Storage Bucket Item Read") || tok.Allows("Workers Scripts Read") {
		t.Errorf("token %+v", tok)
	}
	if _, _, err := st.TokenByID("user", tok.ID); code(err) != 1003 {
		t.Errorf("a user reads an account token: %v", err)
	}
	if got, err := st.DeleteToken("account", tok.ID); err != nil || got != tok || st.Tokens[value] != nil {
		t.Errorf("DeleteToken: %v", err)
	}
}

func TestTokenActive(t *testing.T) {
	t.Parallel()
	st := newReady()
	if !st.Tokens["tok"].Active(t0) || st.Tokens["tok"+ExpiredSuffix].Active(t0) {
		t.Error("the main token is active and the expired one is not")
	}
	if st.Tokens["tok"+AccountSuffix].Active(t0) != true || st.Tokens["tok"+ScopedSuffix].Allows("Workers Scripts Write") {
		t.Error("scenario tokens")
	}
	later := t0.Add(time.Hour)
	tok := &Token{Status: "active", ExpiresOn: &later}
	if !tok.Active(t0) || tok.Active(later) {
		t.Error("expiry")
	}
}
