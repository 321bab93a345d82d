package preflight

// Standard returns the checks `moltctl doctor` prints and `moltctl deploy`
// runs before building, in display order. IDs are documented in docs/doctor.md.
func Standard() []Check {
	return []Check{}
}
