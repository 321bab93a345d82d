package preflight

import "context"

// ApplyFixes applies the automatic fix (Action) of each outcome in fixes,
// in order, through env, and tells done how each went (err nil: applied);
// a fix that fails does not stop the others. When any was attempted, env
// forgets what the checks learned from the API, so that the next Run, the
// check after the fixes, asks again with the same inputs: nothing is
// loaded a second time. It returns how many fixes were attempted. doctor
// --fix and deploy both fix through it; which fixes to apply is theirs.
func ApplyFixes(ctx context.Context, env *Env, fixes []Outcome, done func(o Outcome, err error)) int {
	n := 0
	for _, o := range fixes {
		if o.Action == nil {
			continue
		}
		n++
		err := o.Action.Apply(ctx, env)
		if done != nil {
			done(o, err)
		}
	}
	if n > 0 {
		env.Reset()
	}
	return n
}
