package initcmd

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/templates"
)

// The manifest's shape, as docs/manifest.md defines it. Everything init
// knows about the format is in this file.

// source is one secret's source in the manifest.
type source struct {
	kind string // env, generate, deploy
	arg  string // the variable for env
}

func envSource(name string) source { return source{"env", name} }

var generateSource = source{kind: "generate"}
var deploySource = source{kind: "deploy"}

// flow is the source as a YAML flow mapping, for the template.
func (s source) flow() string {
	switch s.kind {
	case "env":
		return "{env: " + s.arg + "}"
	case "generate":
		return "{generate: hex32}"
	default:
		return "{deploy: true}"
	}
}

// node is the source as a YAML node, for editing.
func (s source) node() *yaml.Node {
	var n yaml.Node
	_ = yaml.Unmarshal([]byte(s.flow()), &n)
	return n.Content[0]
}

// plannedSecret is a secret the answers call for.
type plannedSecret struct {
	name    string
	src     source
	comment string
}

// plan lists the secrets the manifest must hold for a.
func plan(a *Answers) []plannedSecret {
	var out []plannedSecret
	out = append(out, plannedSecret{gatewayTokenSecret, generateSource, "Control UI token: generated once by moltctl, sealed in the account (docs/state.md)"})
	for i, n := range providerSecrets[a.Provider] {
		c := ""
		if i == 0 {
			c = "AI provider: " + a.Provider + " (read from the environment at deploy time)"
		}
		out = append(out, plannedSecret{n, envSource(n), c})
	}
	for _, ch := range a.Channels {
		for i, n := range channelSecrets[ch] {
			c := ""
			if i == 0 {
				c = "Chat channel: " + ch
			}
			out = append(out, plannedSecret{n, envSource(n), c})
		}
	}
	for i, n := range accessDeploySecrets {
		c := ""
		if i == 0 {
			c = "Cloudflare Access: set by moltctl deploy from the Access application it creates"
		}
		out = append(out, plannedSecret{n, deploySource, c})
	}
	if a.R2 {
		for i, n := range r2DeploySecrets {
			c := ""
			if i == 0 {
				c = "R2 persistence: set by moltctl deploy from the bucket and R2 token it creates"
			}
			out = append(out, plannedSecret{n, deploySource, c})
		}
	}
	return out
}

// plannedVars lists the plain-text variables for a.
func plannedVars(a *Answers) []templates.Var {
	_, _, cost := sleepCost(a.SleepAfter)
	vars := []templates.Var{{Name: sleepVar, Value: a.SleepAfter, Comment: "Container sleep policy: " + cost}}
	if a.Provider == ProviderGateway {
		vars = append(vars,
			templates.Var{Name: gatewayIDs[0], Value: a.GatewayAccountID, Comment: "Cloudflare AI Gateway: the account and gateway it runs in"},
			templates.Var{Name: gatewayIDs[1], Value: a.GatewayID})
	}
	return vars
}

// renderManifest writes a new manifest from the template.
func renderManifest(worker string, a *Answers) ([]byte, error) {
	data := templates.ManifestData{Schema: manifest.SchemaURL, Worker: worker, Provider: a.Provider, Vars: plannedVars(a),
		Allow: a.Allow, AllowDomains: a.AllowDomains, R2: a.R2, SleepAfter: a.SleepAfter}
	for _, s := range plan(a) {
		data.Secrets = append(data.Secrets, templates.Secret{Name: s.name, Comment: s.comment, Source: s.src.flow()})
	}
	return templates.Render(templates.ManifestTemplate, data)
}

// readManifest parses an existing manifest into a node tree, or returns
// nil when there is none.
func readManifest(path string) (*yaml.Node, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	doc, err := manifest.ParseDocument(path, b)
	if err != nil {
		return nil, err
	}
	if doc.Kind == 0 { // empty file
		return nil, nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		line, col := 0, 0
		if len(doc.Content) > 0 {
			line, col = doc.Content[0].Line, doc.Content[0].Column
		}
		return nil, manifest.ErrorList{{Path: path, Line: line, Col: col,
			Msg: "the top level must be a mapping with secrets, vars, access and persistence", Fix: "see docs/manifest.md"}}
	}
	return doc, nil
}

// lookup returns the value node of key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// ensureMap returns the mapping under key, creating it at the end of m.
func ensureMap(m *yaml.Node, key, comment string) *yaml.Node {
	if v := lookup(m, key); v != nil {
		if v.Kind != yaml.MappingNode {
			// "secrets:" with nothing under it parses as a null scalar.
			*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		return v
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, HeadComment: comment}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, k, v)
	return v
}

// set puts key: value into mapping m, in place when the key exists (its
// comments kept), at the end otherwise.
func set(m *yaml.Node, key string, value *yaml.Node, comment string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			value.LineComment = old.LineComment
			value.FootComment = old.FootComment
			m.Content[i+1] = value
			// A comment init wrote (same "Topic:" prefix) follows the new value.
			k := m.Content[i]
			if p, _, ok := strings.Cut(comment, ":"); ok && strings.HasPrefix(strings.TrimLeft(k.HeadComment, "# "), p+":") {
				k.HeadComment = comment
			}
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, HeadComment: comment}, value)
}

// del removes key from mapping m.
func del(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func scalar(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Style: yaml.DoubleQuotedStyle}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(b)}
}

func seq(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	if len(items) == 0 {
		n.Style = yaml.FlowStyle
	}
	for _, it := range items {
		n.Content = append(n.Content, scalar(it))
	}
	return n
}

// scalarList returns the values of a YAML sequence of scalars, or nil.
func scalarList(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// editManifest applies a to an existing manifest: the secrets init manages
// are added or removed to match the answers, the sleep policy, Access and
// persistence are set, and everything else — comments, other secrets,
// other variables, keys init does not know — is left as it was.
func editManifest(doc *yaml.Node, a *Answers) {
	root := doc.Content[0]
	secrets := ensureMap(root, "secrets", "Worker secrets and where moltctl reads each one at deploy time.")
	want := map[string]bool{}
	for _, s := range plan(a) {
		want[s.name] = true
		if lookup(secrets, s.name) != nil {
			continue // keep the user's source ({dotenv}, a file, a command): a new one could change the value
		}
		set(secrets, s.name, s.src.node(), s.comment)
	}
	for name := range managedSecrets() {
		if !want[name] {
			del(secrets, name)
		}
	}
	vars := ensureMap(root, "vars", "Plain-text Worker variables.")
	for _, v := range plannedVars(a) {
		set(vars, v.Name, scalar(v.Value), v.Comment)
	}
	if a.Provider != ProviderGateway {
		for _, n := range gatewayIDs {
			del(vars, n)
		}
	}
	access := ensureMap(root, "access", "Cloudflare Access: who may open the assistant.")
	set(access, "allow", seq(a.Allow), "")
	set(access, "allow_domains", seq(a.AllowDomains), "")
	persistence := ensureMap(root, "persistence", "Keep paired devices, settings and the workspace in R2 across restarts.")
	set(persistence, "r2", boolNode(a.R2), "")
}

// answersFrom reads the answers an existing manifest already holds, so the
// form starts from them.
func answersFrom(doc *yaml.Node) Answers {
	var a Answers
	root := doc.Content[0]
	secrets := lookup(root, "secrets")
	for _, p := range providerNames {
		if lookup(secrets, providerSecrets[p][0]) != nil {
			a.Provider = p
			break
		}
	}
	for _, c := range channelNames {
		if lookup(secrets, channelSecrets[c][0]) != nil {
			a.Channels = append(a.Channels, c)
		}
	}
	vars := lookup(root, "vars")
	if v := lookup(vars, sleepVar); v != nil {
		a.SleepAfter = v.Value
	}
	if v := lookup(vars, gatewayIDs[0]); v != nil {
		a.GatewayAccountID = v.Value
	}
	if v := lookup(vars, gatewayIDs[1]); v != nil {
		a.GatewayID = v.Value
	}
	access := lookup(root, "access")
	a.Allow = scalarList(lookup(access, "allow"))
	a.AllowDomains = scalarList(lookup(access, "allow_domains"))
	if v := lookup(lookup(root, "persistence"), "r2"); v != nil {
		a.R2 = v.Value == "true"
	}
	return a
}

// encode renders the edited tree with two-space indentation.
func encode(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return spaceSections(buf.Bytes()), nil
}

// spaceSections puts back the blank line before each top-level section
// (and its comment) that the YAML encoder drops.
func spaceSections(b []byte) []byte {
	lines := strings.SplitAfter(string(b), "\n")
	var out strings.Builder
	for i, l := range lines {
		if i > 0 && l != "" && l[0] != ' ' && l[0] != '\n' && l[0] != '-' {
			prev := lines[i-1]
			if len(prev) > 0 && (prev[0] == ' ' || prev[0] == '-') {
				out.WriteByte('\n')
			}
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so an interrupted init never leaves half a file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
