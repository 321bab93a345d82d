package set

import (
	"context"
	"testing"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

func TestNewCmdSetFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		names []string
		force bool
	}{
		{nil, nil, false},
		{[]string{"A", "B"}, []string{"A", "B"}, false},
		{[]string{"--force", "A"}, []string{"A"}, true},
	}
	for _, tt := range tests {
		io, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{IOStreams: io, Global: &cmdutil.GlobalOptions{}}
		var got *SetOptions
		cmd := NewCmdSet(f, func(_ context.Context, o *SetOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if len(got.Names) != len(tt.names) || got.Force != tt.force {
			t.Errorf("%v: names %v force %v", tt.args, got.Names, got.Force)
		}
	}
}
