// Package manifest reads moltctl.yaml, the file beside wrangler.jsonc that
// says where each of the assistant's secrets comes from (never the value
// itself), which plain settings to send as vars, who Cloudflare Access lets
// in, and whether to persist to R2. Resolve turns the sources into values.
// The format is documented in docs/manifest.md and docs/moltctl.schema.json.
package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/moltctl/moltctl/pkg/internal/suggest"
	"github.com/moltctl/moltctl/pkg/secrets"
)

// FileName is the manifest's name, beside wrangler.jsonc.
const FileName = "moltctl.yaml"

// Path returns the manifest's path in projectDir.
func Path(projectDir string) string { return filepath.Join(projectDir, FileName) }

// SourceKind says where a secret's value comes from.
type SourceKind string

// Source kinds.
const (
	SourceEnv      SourceKind = "env"      // an environment variable
	SourceFile     SourceKind = "file"     // a file's whole content
	SourceDotenv   SourceKind = "dotenv"   // one key of a KEY=VALUE file
	SourceStdin    SourceKind = "stdin"    // standard input
	SourceCommand  SourceKind = "command"  // a command's standard output
	SourceGenerate SourceKind = "generate" // random, made and kept by moltctl
	SourceDeploy   SourceKind = "deploy"   // obtained from Cloudflare by moltctl deploy
)

// Source is where one secret's value comes from.
type Source struct {
	Kind SourceKind `json:"kind"`
	// Env is the variable name (env).
	Env string `json:"env,omitempty"`
	// File is the path as written (file, dotenv); relative to the manifest's directory.
	File string `json:"file,omitempty"`
	// Key is the key to read from a dotenv file (default: the secret's name).
	Key string `json:"key,omitempty"`
	// Command is the argv to run (command).
	Command []string `json:"command,omitempty"`
	// Shell runs Command[0] with sh -c (command with shell: true).
	Shell bool `json:"shell,omitempty"`
	// Generate is the format to generate: hex<N> or base64url<N>, N random bytes.
	Generate string `json:"generate,omitempty"`
	// Timeout bounds a command (command; default DefaultCommandTimeout).
	Timeout time.Duration `json:"timeout,omitempty"`
	// PassEnv names the CLOUDFLARE_* and CF_* variables a command may see
	// (command); the others are removed from its environment.
	PassEnv []string `json:"pass_env,omitempty"`
}

// DefaultCommandTimeout bounds a command source without a timeout.
const DefaultCommandTimeout = 30 * time.Second

// String describes the source (never a value).
func (s Source) String() string {
	switch s.Kind {
	case SourceEnv:
		return "env " + s.Env
	case SourceFile:
		return "file " + s.File
	case SourceDotenv:
		if s.Key != "" {
			return "dotenv " + s.File + " (key " + s.Key + ")"
		}
		return "dotenv " + s.File
	case SourceCommand:
		if s.Shell {
			return "command (shell) " + strings.Join(s.Command, " ")
		}
		return "command " + strings.Join(s.Command, " ")
	case SourceGenerate:
		return "generate " + s.Generate
	}
	return string(s.Kind)
}

// Secret is one entry under secrets.
type Secret struct {
	Name   string `json:"name"`
	Source Source `json:"source"`
	// Line and Col locate the entry in the file.
	Line int `json:"line"`
	Col  int `json:"column"`
}

// Access says who Cloudflare Access lets in.
type Access struct {
	// Allow lists email addresses.
	Allow []string `json:"allow,omitempty"`
	// AllowDomains lists email domains (anyone@domain).
	AllowDomains []string `json:"allow_domains,omitempty"`
}

// Persistence says what state survives a container restart.
type Persistence struct {
	// R2 keeps paired devices, settings and the workspace in an R2 bucket.
	R2 bool `json:"r2"`
}

// Manifest is a parsed moltctl.yaml.
type Manifest struct {
	// Path is the file it was read from.
	Path string `json:"path"`
	// Secrets in file order.
	Secrets []Secret `json:"secrets"`
	// Vars are plain settings, sent as plain-text bindings.
	Vars map[string]string `json:"vars"`
	// VarNames are Vars' names in file order.
	VarNames    []string    `json:"-"`
	Access      Access      `json:"access"`
	Persistence Persistence `json:"persistence"`
}

// Dir is the directory relative paths are resolved against.
func (m *Manifest) Dir() string { return filepath.Dir(m.Path) }

// Secret returns the entry for name.
func (m *Manifest) Secret(name string) (Secret, bool) {
	for _, s := range m.Secrets {
		if s.Name == name {
			return s, true
		}
	}
	return Secret{}, false
}

// Names returns the secrets' names in file order.
func (m *Manifest) Names() []string {
	out := make([]string, len(m.Secrets))
	for i, s := range m.Secrets {
		out[i] = s.Name
	}
	return out
}

// DeployNames returns the names whose source is deploy.
func (m *Manifest) DeployNames() []string {
	var out []string
	for _, s := range m.Secrets {
		if s.Source.Kind == SourceDeploy {
			out = append(out, s.Name)
		}
	}
	return out
}

// ErrNotFound is wrapped when there is no manifest.
var ErrNotFound = errors.New("no " + FileName)

// Load reads and parses the manifest at path. A missing file gives an
// error wrapping ErrNotFound; a malformed one an ErrorList with line and
// column of each problem (exit code 2).
func Load(path string) (*Manifest, error) {
	b, err := readBounded(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &notFoundError{path: path}
	}
	var e *Error
	if errors.As(err, &e) {
		return nil, ErrorList{e}
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(path, b)
}

type notFoundError struct{ path string }

func (e *notFoundError) Error() string { return fmt.Sprintf("%s not found", e.path) }
func (e *notFoundError) Unwrap() error { return ErrNotFound }
func (e *notFoundError) Hint() string {
	return "run moltctl init to write one, or moltctl secrets import .dev.vars to start from a dotenv file"
}
func (e *notFoundError) ExitCode() int { return 2 }

var yamlLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// ParseDocument parses manifest content into a YAML node tree, checking
// only the syntax and the bounds, for callers that edit the file (init).
// Errors are an ErrorList at file:line:column with the fix (exit code 2).
func ParseDocument(path string, content []byte) (*yaml.Node, error) {
	if len(content) > MaxFileSize {
		return nil, ErrorList{tooLarge(path)}
	}
	if e := checkFlowDepth(path, content); e != nil {
		return nil, ErrorList{e}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		if strings.Contains(err.Error(), yamlDepthError) {
			return nil, ErrorList{tooDeep(path, 0, 0)}
		}
		e := &Error{Path: path, Msg: strings.TrimPrefix(err.Error(), "yaml: "), Fix: "fix the YAML syntax; see docs/manifest.md"}
		if sm := yamlLineRE().FindStringSubmatch(err.Error()); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Col = lineStart(content, e.Line)
			e.Msg = sm[2]
		}
		return nil, ErrorList{e}
	}
	if e := checkTreeDepth(path, &doc); e != nil {
		return nil, ErrorList{e}
	}
	return &doc, nil
}

// lineStart is the column (1-based) of the first non-blank character of
// line n, or 0. yaml.v3 reports a syntax error's line but not its column;
// the line's start is where the entry it could not place begins.
func lineStart(content []byte, n int) int {
	lines := strings.Split(string(content), "\n")
	if n < 1 || n > len(lines) {
		return 0
	}
	l := strings.TrimRight(lines[n-1], "\r")
	if i := strings.IndexFunc(l, func(r rune) bool { return r != ' ' && r != '\t' }); i >= 0 {
		return i + 1
	}
	return 0
}

// Parse parses manifest content; path is used in errors.
func Parse(path string, content []byte) (*Manifest, error) {
	m := &Manifest{Path: path, Vars: map[string]string{}}
	d, err := ParseDocument(path, content)
	if err != nil {
		return nil, err
	}
	doc := *d
	p := &parser{path: path}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return m, nil // an empty file is an empty manifest
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return m, nil
	}
	if root.Kind != yaml.MappingNode {
		p.errf(root, "the top level must be a mapping with secrets, vars, access and persistence")
		return nil, p.errs
	}
	p.mapping(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "secrets":
			p.secrets(m, v)
		case "vars":
			p.vars(m, v)
		case "access":
			p.access(m, v)
		case "persistence":
			p.persistence(m, v)
		default:
			p.errFix(k, "unknown key %s%s: the top level has secrets, vars, access and persistence", "see docs/manifest.md", keyText(k.Value), didYouMean(k.Value, "secrets", "vars", "access", "persistence"))
		}
	})
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return m, nil
}

type parser struct {
	path string
	errs ErrorList
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	p.errFix(n, format, "", args...)
}

func (p *parser) errFix(n *yaml.Node, format, fix string, args ...any) {
	p.errs = append(p.errs, &Error{Path: p.path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...), Fix: fix})
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// mapping calls fn for each key of a mapping node, rejecting duplicate
// and non-scalar keys. A null node is an empty mapping.
func (p *parser) mapping(n *yaml.Node, fn func(k, v *yaml.Node)) bool {
	if n.Kind == yaml.AliasNode {
		p.errf(n, "aliases are not supported")
		return false
	}
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "want a mapping (key: value lines), got %s", describe(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, "keys must be plain names")
			continue
		}
		if k.Tag == "!!merge" {
			p.errf(k, "merge keys (<<) are not supported")
			continue
		}
		if seen[k.Value] {
			p.errf(k, "%s appears twice", keyText(k.Value))
			continue
		}
		seen[k.Value] = true
		fn(k, v)
	}
	return true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "nothing"
	}
	return "a single value"
}

func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		p.errf(n, "%s: want a single value, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	p.errf(n, "%s: want true or false", what)
	return false, false
}

func (p *parser) strList(n *yaml.Node, what string) []string {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errf(n, "%s: want a list, got %s", what, describe(n))
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if s, ok := p.str(c, what); ok {
			out = append(out, s)
		}
	}
	return out
}

var (
	emailRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^@\s,]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`) })
	domainRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`) })
	genRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(hex|base64url)([0-9]{1,3})$`) })
)

func (p *parser) access(m *Manifest, n *yaml.Node) {
	p.mapping(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "allow":
			for i, s := range p.strList(v, "access.allow") {
				if !emailRE().MatchString(s) {
					p.errFix(v.Content[i], "access.allow: %q is not an email address", "list email addresses under allow and domains under allow_domains", s)
					continue
				}
				m.Access.Allow = append(m.Access.Allow, s)
			}
		case "allow_domains":
			for i, s := range p.strList(v, "access.allow_domains") {
				d := strings.TrimPrefix(s, "@")
				if !domainRE().MatchString(d) {
					p.errFix(v.Content[i], "access.allow_domains: %q is not a domain", "write domains such as example.com", s)
					continue
				}
				m.Access.AllowDomains = append(m.Access.AllowDomains, d)
			}
		default:
			p.errf(k, "unknown key %s under access: want allow or allow_domains", keyText(k.Value))
		}
	})
}

func (p *parser) persistence(m *Manifest, n *yaml.Node) {
	p.mapping(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "r2":
			m.Persistence.R2, _ = p.boolean(v, "persistence.r2")
		default:
			p.errf(k, "unknown key %s under persistence: want r2", keyText(k.Value))
		}
	})
}

func (p *parser) vars(m *Manifest, n *yaml.Node) {
	p.mapping(n, func(k, v *yaml.Node) {
		if !secrets.ValidName(k.Value) {
			p.errf(k, "%s is not a valid variable name: use letters, digits and _", keyText(k.Value))
			return
		}
		if v.Kind != yaml.ScalarNode || isNull(v) {
			p.errf(v, "vars.%s: want a single value, got %s", k.Value, describe(v))
			return
		}
		if spec, ok := secrets.Lookup(k.Value); ok && spec.Secret {
			// Do not echo the value: it may be a credential.
			p.errFix(k, "%s is a secret and must not be written under vars (vars are plain text)",
				fmt.Sprintf("move %s under secrets with a source, e.g. %s: {env: %s}, and remove the value from this file", k.Value, k.Value, k.Value), k.Value)
			return
		}
		if _, dup := m.Vars[k.Value]; !dup {
			m.VarNames = append(m.VarNames, k.Value)
		}
		m.Vars[k.Value] = v.Value
	})
}

var shorthand = map[string]SourceKind{"env": SourceEnv, "stdin": SourceStdin, "generate": SourceGenerate, "deploy": SourceDeploy}

func (p *parser) secrets(m *Manifest, n *yaml.Node) {
	p.mapping(n, func(k, v *yaml.Node) {
		name := k.Value
		if !secrets.ValidName(name) {
			p.errf(k, "%s is not a valid secret name: use letters, digits and _", keyText(name))
			return
		}
		src, ok := p.source(name, v)
		if !ok {
			return
		}
		m.Secrets = append(m.Secrets, Secret{Name: name, Source: src, Line: k.Line, Col: k.Column})
	})
}

func (p *parser) source(name string, v *yaml.Node) (Source, bool) {
	fixSource := fmt.Sprintf("write where the value comes from, e.g. %s: {env: %s}; see docs/manifest.md", name, name)
	if v.Kind == yaml.ScalarNode {
		kind, ok := shorthand[v.Value]
		if !ok || isNull(v) {
			// Never echo: this may be a pasted value.
			p.errFix(v, "secrets.%s: not a source; moltctl.yaml says where a value comes from (env, file, dotenv, stdin, command, generate, deploy), never the value itself", fixSource, name)
			return Source{}, false
		}
		s := Source{Kind: kind}
		switch kind {
		case SourceEnv:
			s.Env = name
		case SourceGenerate:
			s.Generate = "hex32"
		case SourceDeploy:
			if !p.deployable(name, v) {
				return Source{}, false
			}
		}
		return s, true
	}
	if v.Kind != yaml.MappingNode {
		p.errFix(v, "secrets.%s: want a source such as {env: %s}, got %s", fixSource, name, name, describe(v))
		return Source{}, false
	}
	var s Source
	var kinds []string
	var shellNode, keyNode *yaml.Node
	var cmdOpts []*yaml.Node // timeout, pass_env
	nerr := len(p.errs)
	p.mapping(v, func(k, x *yaml.Node) {
		switch k.Value {
		case "env":
			kinds = append(kinds, k.Value)
			s.Kind = SourceEnv
			if e, ok := p.str(x, "secrets."+name+".env"); ok {
				if !envNameLike(e) {
					// Never echo: this is often the value pasted in place of the name.
					p.errFix(x, "secrets.%s.env: not the name of an environment variable", fmt.Sprintf("write the variable's name, e.g. {env: %s}, and export the value in your shell; moltctl.yaml never holds a value", name), name)
				}
				s.Env = e
			}
		case "file", "dotenv":
			kinds = append(kinds, k.Value)
			s.Kind = SourceKind(k.Value)
			if f, ok := p.str(x, "secrets."+name+"."+k.Value); ok {
				if f == "" {
					p.errf(x, "secrets.%s.%s: the path is empty", name, k.Value)
				}
				s.File = f
			}
		case "stdin", "deploy":
			kinds = append(kinds, k.Value)
			s.Kind = SourceKind(k.Value)
			if b, ok := p.boolean(x, "secrets."+name+"."+k.Value); ok && !b {
				p.errf(x, "secrets.%s.%s: only true is meaningful here", name, k.Value)
			}
			if s.Kind == SourceDeploy {
				p.deployable(name, x)
			}
		case "generate":
			kinds = append(kinds, k.Value)
			s.Kind = SourceGenerate
			s.Generate = "hex32"
			if x.Kind == yaml.ScalarNode && x.Tag == "!!bool" && x.Value == "true" {
				break
			}
			if g, ok := p.str(x, "secrets."+name+".generate"); ok {
				sm := genRE().FindStringSubmatch(g)
				n := 0
				if sm != nil {
					n, _ = strconv.Atoi(sm[2])
				}
				if sm == nil || n < 16 || n > 128 {
					// Never echo: this may be a value pasted in place of the format.
					p.errFix(x, "secrets.%s.generate: not a format", "write hex32 (32 random bytes as 64 hex characters) or base64url32; 16 to 128 bytes", name)
				}
				s.Generate = g
			}
		case "command":
			kinds = append(kinds, k.Value)
			s.Kind = SourceCommand
			switch x.Kind {
			case yaml.SequenceNode:
				s.Command = p.strList(x, "secrets."+name+".command")
				if len(x.Content) == 0 {
					p.errf(x, "secrets.%s.command: the list is empty", name)
				}
			case yaml.ScalarNode:
				if c, ok := p.str(x, "secrets."+name+".command"); ok {
					s.Command = []string{c}
				}
			default:
				p.errf(x, "secrets.%s.command: want a list of arguments, got %s", name, describe(x))
			}
		case "shell":
			shellNode = x
			s.Shell, _ = p.boolean(x, "secrets."+name+".shell")
		case "timeout":
			cmdOpts = append(cmdOpts, x)
			if t, ok := p.str(x, "secrets."+name+".timeout"); ok {
				d, err := time.ParseDuration(t)
				if err != nil || d < time.Second || d > time.Hour {
					p.errFix(x, "secrets.%s.timeout: want a duration between 1s and 1h", "write e.g. timeout: 2m", name)
				}
				s.Timeout = d
			}
		case "pass_env":
			cmdOpts = append(cmdOpts, x)
			for i, e := range p.strList(x, "secrets."+name+".pass_env") {
				if !secrets.ValidName(e) {
					p.errf(x.Content[i], "secrets.%s.pass_env: not the name of an environment variable", name)
					continue
				}
				s.PassEnv = append(s.PassEnv, e)
			}
		case "key":
			keyNode = x
			if key, ok := p.str(x, "secrets."+name+".key"); ok {
				s.Key = key
			}
		default:
			p.errFix(k, "secrets.%s: unknown key %s%s", "a source is one of env, file, dotenv, stdin, command, generate, deploy (with shell, timeout and pass_env for command, key for dotenv)", name, keyText(k.Value),
				didYouMean(k.Value, "env", "file", "dotenv", "stdin", "command", "generate", "deploy", "shell", "key", "timeout", "pass_env"))
		}
	})
	if len(p.errs) > nerr {
		return Source{}, false
	}
	switch {
	case len(kinds) == 0:
		p.errFix(v, "secrets.%s: no source", fixSource, name)
		return Source{}, false
	case len(kinds) > 1:
		p.errf(v, "secrets.%s: one source only, got %s", name, strings.Join(kinds, " and "))
		return Source{}, false
	}
	if shellNode != nil && s.Kind != SourceCommand {
		p.errf(shellNode, "secrets.%s.shell: only a command source takes shell", name)
		return Source{}, false
	}
	if len(cmdOpts) > 0 && s.Kind != SourceCommand {
		p.errf(cmdOpts[0], "secrets.%s: only a command source takes timeout and pass_env", name)
		return Source{}, false
	}
	if keyNode != nil && s.Kind != SourceDotenv {
		p.errf(keyNode, "secrets.%s.key: only a dotenv source takes key", name)
		return Source{}, false
	}
	if s.Kind == SourceCommand && len(s.Command) == 1 && !s.Shell {
		argv, err := splitArgs(s.Command[0])
		if err != nil {
			p.errFix(v, "secrets.%s.command: %v", "write the command as a list, e.g. [op, read, \"op://vault/item/field\"], or add shell: true to run it with sh -c", name, err)
			return Source{}, false
		}
		s.Command = argv
	}
	if s.Kind == SourceCommand && s.Shell && len(s.Command) != 1 {
		p.errf(v, "secrets.%s.command: with shell: true, write the command as one string", name)
		return Source{}, false
	}
	if s.Kind == SourceCommand && (len(s.Command) == 0 || s.Command[0] == "") {
		p.errf(v, "secrets.%s.command: no program to run", name)
		return Source{}, false
	}
	return s, true
}

func (p *parser) deployable(name string, n *yaml.Node) bool {
	for _, d := range secrets.DeployNames() {
		if d == name {
			return true
		}
	}
	p.errFix(n, "secrets.%s: moltctl deploy cannot obtain %s from Cloudflare", "deploy provides only "+strings.Join(secrets.DeployNames(), ", ")+"; give this secret another source", name, name)
	return false
}

// splitArgs splits a command line into arguments the way a shell would
// for plain words and quotes, without running one: no variables, globs,
// pipes or redirections (those need shell: true).
func splitArgs(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inArg = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\`, s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					return nil, errors.New("variables and command substitution need shell: true")
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			inArg = true
		case strings.IndexByte("|&;<>()$`*?[]{}~#!\\", c) >= 0:
			return nil, fmt.Errorf("%q is shell syntax", string(c))
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, errors.New("no program to run")
	}
	return args, nil
}

// SecretFiles returns the files that file and dotenv sources read values
// from, as absolute paths (relative ones under the manifest's directory),
// so that an image build can leave them out whatever .dockerignore says.
// Paths under ~ are left out: a home directory is no build context.
func (m *Manifest) SecretFiles() []string {
	var out []string
	for _, s := range m.Secrets {
		if (s.Source.Kind != SourceFile && s.Source.Kind != SourceDotenv) || s.Source.File == "" || strings.HasPrefix(s.Source.File, "~") {
			continue
		}
		out = append(out, m.expand(s.Source.File, func(string) string { return "" }))
	}
	return out
}

// hexTokenRE matches a hex string as long as a generated token.
var hexTokenRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{32,}$`) })

// envNameLike reports whether s can be the name of an environment
// variable rather than a value written in its place: a valid name, not
// longer than any real variable's, and not a hex token (a generated
// gateway token starting with a letter is a valid name).
func envNameLike(s string) bool {
	return secrets.ValidName(s) && len(s) <= 64 && !hexTokenRE().MatchString(s)
}

// keyRE is what a key that is safe to repeat in a message looks like.
var keyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`) })

// keyText quotes a key for an error message, unless it looks like a
// pasted value (long, or with characters no key has): errors never hold
// a secret, so such a key is described, not shown.
func keyText(k string) string {
	if keyRE().MatchString(k) {
		return strconv.Quote(k)
	}
	return "(a key that may be a value, not shown)"
}

// didYouMean suggests the known key nearest to k, or says nothing.
func didYouMean(k string, known ...string) string {
	if !keyRE().MatchString(k) {
		return ""
	}
	if s := suggest.Nearest(k, known); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return ""
}
