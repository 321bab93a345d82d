package manifest

// MachineLocal reports whether the source reads what only the machine
// holding the checkout has: a file or dotenv file (often git-ignored), a
// command's output or standard input. A CI runner has the repository and
// its environment, so it lacks these.
func (s Source) MachineLocal() bool {
	switch s.Kind {
	case SourceFile, SourceDotenv, SourceStdin, SourceCommand:
		return true
	}
	return false
}
