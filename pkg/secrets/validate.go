package secrets

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Severity of a Problem.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem codes, stable for --output json.
const (
	CodeFormat      = "format"      // a value does not fit its kind
	CodeSwap        = "swap"        // a value fits another name's kind
	CodeMissing     = "missing"     // a required name has no value
	CodeProvider    = "provider"    // no AI provider is complete
	CodeGroup       = "group"       // part of a group is set
	CodeUnknown     = "unknown"     // a name moltworker does not read
	CodeIneffective = "ineffective" // a name that has no effect
	CodeMisplaced   = "misplaced"   // a secret declared as a plain var
	CodeDuplicate   = "duplicate"   // a name declared as a secret and a var
	CodeName        = "name"        // not a valid variable name
	CodeNote        = "note"        // other advice
)

// Problem is one finding. Its text never holds a value.
type Problem struct {
	Name     string   `json:"name,omitempty"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix,omitempty"`
	// SwappedWith names the other half of a suspected swap.
	SwappedWith string `json:"swapped_with,omitempty"`
}

// Report is the outcome of Validate.
type Report struct {
	Problems []Problem `json:"problems"`
}

// Errors returns the problems that block sending.
func (r *Report) Errors() []Problem { return r.filter(SeverityError) }

// Warnings returns the problems that do not block sending.
func (r *Report) Warnings() []Problem { return r.filter(SeverityWarning) }

func (r *Report) filter(s Severity) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// OK reports whether there are no errors.
func (r *Report) OK() bool { return len(r.Errors()) == 0 }

// Err returns a *CheckError when the report has errors, else nil.
func (r *Report) Err() error {
	if errs := r.Errors(); len(errs) > 0 {
		return &CheckError{Problems: errs}
	}
	return nil
}

// ForName returns the problems about name.
func (r *Report) ForName(name string) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Name == name || p.SwappedWith == name {
			out = append(out, p)
		}
	}
	return out
}

func (r *Report) add(p Problem) { r.Problems = append(r.Problems, p) }

// CheckError carries the errors of a Report. Exit code 2: bad input.
type CheckError struct {
	Problems []Problem
}

func (e *CheckError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Message
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems with secrets and settings:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - " + p.Message)
	}
	return b.String()
}

// Hint returns the first problem's fix.
func (e *CheckError) Hint() string {
	for _, p := range e.Problems {
		if p.Fix != "" {
			return p.Fix
		}
	}
	return ""
}

// ExitCode is 2 (bad input).
func (e *CheckError) ExitCode() int { return 2 }

// MinGatewayTokenLen is the gateway token length below which Validate warns.
const MinGatewayTokenLen = 32

// Input is what Validate checks.
type Input struct {
	// Secrets are the resolved secret values.
	Secrets Values
	// Vars are plain settings, sent as plain-text bindings.
	Vars map[string]string
	// Pending names have no value yet but will have one when it is sent
	// (source `deploy`): they count as set, their format is not checked.
	Pending []string
	// Partial skips the checks that need the whole set (required names,
	// AI provider, groups): for sending a chosen few names.
	Partial bool
}

var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// ValidName reports whether name can be a Worker binding name.
func ValidName(name string) bool { return nameRE().MatchString(name) }

// ValidateValue checks one value against name's kind, for validating as
// the user types. The error never holds the value.
func ValidateValue(name, value string) error {
	k := KindOf(name)
	if value == "" || !k.Valid(value) {
		return &FormatError{Name: name, Kind: k, Reason: describeMismatch(k, value)}
	}
	return nil
}

// Check validates a set of secret values (formats, swaps, required names,
// groups) and returns a *CheckError, or nil. Names moltctl deploy obtains
// from Cloudflare (DeployNames) count as present when absent, so it can run
// before they are known. With a manifest, prefer manifest.Check, which also
// counts the manifest's vars (e.g. the AI Gateway IDs).
func Check(values Values) error {
	var pending []string
	for _, n := range DeployNames() {
		if !values.Has(n) {
			pending = append(pending, n)
		}
	}
	return Validate(Input{Secrets: values, Pending: pending}).Err()
}

// Validate runs every check on in.
func Validate(in Input) *Report {
	r := &Report{}
	all := map[string]string{}
	for _, n := range in.Secrets.Names() {
		v, _ := in.Secrets.Get(n)
		all[n] = v
	}
	present := map[string]bool{}
	for n := range all {
		present[n] = true
	}
	for _, n := range sortedKeys(in.Vars) {
		if _, dup := all[n]; dup {
			r.add(Problem{Name: n, Severity: SeverityError, Code: CodeDuplicate,
				Message: fmt.Sprintf("%s is declared both as a secret and as a var", n),
				Fix:     fmt.Sprintf("keep %s in one place in moltctl.yaml", n)})
			continue
		}
		if s, ok := byName[n]; ok && s.Secret {
			r.add(Problem{Name: n, Severity: SeverityError, Code: CodeMisplaced,
				Message: fmt.Sprintf("%s is a secret but is declared under vars, which are plain text", n),
				Fix:     fmt.Sprintf("move %s under secrets with a source (env, file, command…) and remove its value from moltctl.yaml", n)})
		}
		all[n] = in.Vars[n]
		present[n] = true
	}
	pending := map[string]bool{}
	for _, n := range in.Pending {
		pending[n] = true
		present[n] = true
	}

	// Names and formats.
	swapped := map[string]bool{}
	for _, n := range sortedKeys(all) {
		v := all[n]
		if !ValidName(n) {
			r.add(Problem{Name: n, Severity: SeverityError, Code: CodeName,
				Message: fmt.Sprintf("%q is not a valid name: use letters, digits and _ and start with a letter", n)})
			continue
		}
		spec, known := byName[n]
		if !known {
			r.add(Problem{Name: n, Severity: SeverityWarning, Code: CodeUnknown,
				Message: fmt.Sprintf("%s is not a name moltworker reads; it will be sent as given", n),
				Fix:     "check the spelling against docs/manifest.md"})
			if v == "" {
				r.add(Problem{Name: n, Severity: SeverityError, Code: CodeFormat, Message: fmt.Sprintf("the value for %s is empty", n)})
			}
			continue
		}
		if spec.Ineffective != "" {
			r.add(Problem{Name: n, Severity: SeverityWarning, Code: CodeIneffective, Message: spec.Ineffective,
				Fix: fmt.Sprintf("remove %s from moltctl.yaml", n)})
		}
		if spec.Kind.Valid(v) || swapped[n] {
			continue
		}
		if p, ok := swapProblem(n, v, all); ok {
			if p.SwappedWith != "" && swapped[p.SwappedWith] {
				continue
			}
			swapped[n] = true
			if p.SwappedWith != "" {
				swapped[p.SwappedWith] = true
			}
			r.add(p)
			continue
		}
		r.add(Problem{Name: n, Severity: SeverityError, Code: CodeFormat,
			Message: (&FormatError{Name: n, Kind: spec.Kind, Reason: describeMismatch(spec.Kind, v)}).Error(),
			Fix:     fmt.Sprintf("check the source of %s in moltctl.yaml", n)})
	}
	if in.Partial {
		return r
	}

	if v := all["MOLTBOT_GATEWAY_TOKEN"]; v != "" && len(v) < MinGatewayTokenLen && !pending["MOLTBOT_GATEWAY_TOKEN"] {
		r.add(Problem{Name: "MOLTBOT_GATEWAY_TOKEN", Severity: SeverityWarning, Code: CodeNote,
			Message: fmt.Sprintf("MOLTBOT_GATEWAY_TOKEN is shorter than %d characters: anyone who guesses it can use the Control UI", MinGatewayTokenLen),
			Fix:     "use `MOLTBOT_GATEWAY_TOKEN: {generate: hex32}` in moltctl.yaml: moltctl makes a random one and keeps it"})
	}
	if present["CF_AIG_TOKEN"] && !present["CLOUDFLARE_AI_GATEWAY_API_KEY"] && !present["AI_GATEWAY_API_KEY"] {
		r.add(Problem{Name: "CF_AIG_TOKEN", Severity: SeverityWarning, Code: CodeNote,
			Message: "CF_AIG_TOKEN authenticates requests to an AI Gateway, but no AI Gateway is configured",
			Fix:     "add CLOUDFLARE_AI_GATEWAY_API_KEY, CF_AI_GATEWAY_ACCOUNT_ID and CF_AI_GATEWAY_GATEWAY_ID, or remove CF_AIG_TOKEN"})
	}

	truthy := func(n string) bool { return all[n] == "true" }
	testMode := truthy("DEV_MODE") || truthy("E2E_TEST_MODE")
	if truthy("DEV_MODE") {
		r.add(Problem{Name: "DEV_MODE", Severity: SeverityWarning, Code: CodeNote,
			Message: "DEV_MODE=true turns off Cloudflare Access and device pairing: anyone with the URL can use the assistant",
			Fix:     "remove DEV_MODE outside local development"})
	}
	for _, s := range catalogue {
		if present[s.Name] {
			continue
		}
		if s.Required == Required || (s.Required == RequiredUnlessTestMode && !testMode) {
			fix := fmt.Sprintf("add %s under secrets in moltctl.yaml", s.Name)
			switch {
			case s.Kind == KindGatewayToken:
				fix = fmt.Sprintf("add `%s: {generate: hex32}` under secrets in moltctl.yaml", s.Name)
			case s.FromDeploy:
				fix = fmt.Sprintf("add `%s: deploy` under secrets in moltctl.yaml; moltctl deploy sets it", s.Name)
			}
			r.add(Problem{Name: s.Name, Severity: SeverityError, Code: CodeMissing,
				Message: fmt.Sprintf("%s is required: moltworker answers \"Configuration Required\" without it", s.Name), Fix: fix})
		}
	}

	providerOK := false
	for _, choice := range ProviderChoices() {
		if allPresent(present, choice) {
			providerOK = true
		}
	}
	if !providerOK {
		r.add(Problem{Severity: SeverityError, Code: CodeProvider,
			Message: "no AI provider: set ANTHROPIC_API_KEY, OPENAI_API_KEY, all of CLOUDFLARE_AI_GATEWAY_API_KEY, CF_AI_GATEWAY_ACCOUNT_ID and CF_AI_GATEWAY_GATEWAY_ID, or both AI_GATEWAY_API_KEY and AI_GATEWAY_BASE_URL",
			Fix:     "add ANTHROPIC_API_KEY: {env: ANTHROPIC_API_KEY} (or another provider) under secrets in moltctl.yaml"})
	}

	for _, g := range Groups() {
		var have, miss []string
		for _, n := range g.Names {
			if present[n] {
				have = append(have, n)
			} else {
				miss = append(miss, n)
			}
		}
		if len(have) == 0 || len(miss) == 0 {
			continue
		}
		if g.ID == GroupR2.ID && len(have) == 1 && have[0] == "CF_ACCOUNT_ID" {
			continue // CF_ACCOUNT_ID alone serves CF_AI_GATEWAY_MODEL
		}
		if g.ID == GroupAccess.ID && testMode {
			continue
		}
		r.add(Problem{Name: miss[0], Severity: SeverityError, Code: CodeGroup,
			Message: fmt.Sprintf("%s needs %s together: %s %s set but %s %s not", g.Purpose, joinAnd(g.Names),
				joinAnd(have), isAre(have), joinAnd(miss), isAre(miss)),
			Fix: fmt.Sprintf("add %s under secrets in moltctl.yaml, or remove %s", joinAnd(miss), joinAnd(have))})
	}
	if present["CF_AI_GATEWAY_MODEL"] && !present["CLOUDFLARE_AI_GATEWAY_API_KEY"] {
		r.add(Problem{Name: "CF_AI_GATEWAY_MODEL", Severity: SeverityWarning, Code: CodeNote,
			Message: "CF_AI_GATEWAY_MODEL is ignored without CLOUDFLARE_AI_GATEWAY_API_KEY",
			Fix:     "add CLOUDFLARE_AI_GATEWAY_API_KEY, or remove CF_AI_GATEWAY_MODEL"})
	}
	if present["R2_BUCKET_NAME"] && !present["R2_ACCESS_KEY_ID"] {
		r.add(Problem{Name: "R2_BUCKET_NAME", Severity: SeverityWarning, Code: CodeNote,
			Message: "R2_BUCKET_NAME has no effect without R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY and CF_ACCOUNT_ID",
			Fix:     "set `persistence: {r2: true}` so moltctl deploy provides them, or remove R2_BUCKET_NAME"})
	}
	return r
}

// swapProblem explains a value that fails name's kind but fits another
// name's distinctive kind.
func swapProblem(name, value string, all map[string]string) (Problem, bool) {
	own := KindOf(name)
	var cands []*Spec
	for i := range catalogue {
		s := &catalogue[i]
		if s.Name == name || !s.Kind.Distinctive || s.Kind.ID == own.ID || !s.Kind.Valid(value) {
			continue
		}
		cands = append(cands, s)
	}
	if len(cands) == 0 {
		return Problem{}, false
	}
	// Two values that fit each other's kinds: a swap, name both.
	for _, c := range cands {
		other, ok := all[c.Name]
		if ok && !c.Kind.Valid(other) && own.Valid(other) {
			return Problem{Name: name, SwappedWith: c.Name, Severity: SeverityError, Code: CodeSwap,
				Message: fmt.Sprintf("the value for %s looks like %s and the value for %s looks like %s; did you swap %s and %s?",
					name, c.Kind.Describe, c.Name, own.Describe, name, c.Name),
				Fix: fmt.Sprintf("exchange the sources (or values) of %s and %s", name, c.Name)}, true
		}
	}
	// The other half holds a value that is wrong too.
	for _, c := range cands {
		if other, ok := all[c.Name]; ok && !c.Kind.Valid(other) {
			return Problem{Name: name, SwappedWith: c.Name, Severity: SeverityError, Code: CodeSwap,
				Message: fmt.Sprintf("the value for %s looks like %s; did you swap it with %s?", name, c.Kind.Describe, c.Name),
				Fix:     fmt.Sprintf("check the sources of %s and %s in moltctl.yaml", name, c.Name)}, true
		}
	}
	var descs, names []string
	seen := map[string]bool{}
	for _, c := range cands {
		names = append(names, c.Name)
		if !seen[c.Kind.Describe] {
			seen[c.Kind.Describe] = true
			descs = append(descs, c.Kind.Describe)
		}
	}
	return Problem{Name: name, Severity: SeverityError, Code: CodeSwap,
		Message: fmt.Sprintf("the value for %s looks like %s, not %s; is it meant for %s?", name, joinOr(descs), own.Describe, joinOr(names)),
		Fix:     fmt.Sprintf("check the source of %s in moltctl.yaml", name)}, true
}

func allPresent(present map[string]bool, names []string) bool {
	for _, n := range names {
		if !present[n] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	b := make(map[string]bool, len(m))
	for k := range m {
		b[k] = true
	}
	return sortedNames(b)
}

func joinAnd(s []string) string { return joinWord(s, "and") }
func joinOr(s []string) string  { return joinWord(s, "or") }

func joinWord(s []string, w string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " " + w + " " + s[len(s)-1]
}

func isAre(s []string) string {
	if len(s) == 1 {
		return "is"
	}
	return "are"
}

var leadingNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`) })

// LeadingName is the first name of an entry in a list of missing names as
// moltworker reports it: a name, or alternatives ("ANTHROPIC_API_KEY,
// OPENAI_API_KEY, or …"); alone reports whether the entry is just that
// name. "" when the entry does not start with a name.
func LeadingName(entry string) (name string, alone bool) {
	name = leadingNameRE().FindString(strings.TrimSpace(entry))
	return name, name != "" && name == strings.TrimSpace(entry)
}

// SetCommand is one runnable command that sets what entries (as
// LeadingName reads them) lack: every plain name, and the first of each
// list of alternatives, whose others then go in prose. alternatives holds
// those lists; "" command when no entry starts with a name.
func SetCommand(entries []string) (command string, alternatives []string) {
	var names []string
	for _, e := range entries {
		n, alone := LeadingName(e)
		if n == "" {
			continue
		}
		names = append(names, n)
		if !alone {
			alternatives = append(alternatives, strings.TrimSpace(e))
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	return "moltctl secrets set " + strings.Join(names, " "), alternatives
}
