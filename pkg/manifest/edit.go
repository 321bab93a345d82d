package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/moltctl/moltctl/pkg/internal/atomicfile"
)

// SchemaURL is the JSON Schema editors use to check moltctl.yaml.
const SchemaURL = "https://raw.githubusercontent.com/moltctl/moltctl/main/docs/moltctl.schema.json"

// Header starts a manifest moltctl writes from scratch.
const Header = "# yaml-language-server: $schema=" + SchemaURL + "\n" +
	"# moltctl.yaml says where each secret comes from, never its value, so it\n" +
	"# is safe to commit. Reference: docs/manifest.md\n"

// Node renders s as a YAML flow mapping, e.g. {env: NAME}.
func (s Source) Node() *yaml.Node {
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, str(k), v) }
	yes := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}
	switch s.Kind {
	case SourceEnv:
		add("env", str(s.Env))
	case SourceFile, SourceDotenv:
		add(string(s.Kind), str(s.File))
		if s.Key != "" {
			add("key", str(s.Key))
		}
	case SourceStdin, SourceDeploy:
		add(string(s.Kind), yes)
	case SourceGenerate:
		add("generate", str(s.Generate))
	case SourceCommand:
		if s.Shell {
			add("command", str(s.Command[0]))
			add("shell", yes)
		} else {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			for _, a := range s.Command {
				seq.Content = append(seq.Content, str(a))
			}
			add("command", seq)
		}
		if s.Timeout > 0 {
			add("timeout", str(s.Timeout.String()))
		}
		if len(s.PassEnv) > 0 {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			for _, e := range s.PassEnv {
				seq.Content = append(seq.Content, str(e))
			}
			add("pass_env", seq)
		}
	}
	return m
}

// Edit is a change to moltctl.yaml.
type Edit struct {
	// Secrets to add or replace, in order.
	Secrets []Secret
	// Vars to add or replace, in order.
	Vars [][2]string
}

// Apply writes e into the manifest at path (created when missing),
// keeping comments and every entry it does not change. The result is
// parsed before it replaces the file, which is written atomically.
func Apply(path string, e Edit) error {
	b, err := readBounded(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte(Header + "secrets: {}\n")
	}
	if _, err := Parse(path, b); err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return err
	}
	if len(doc.Content) == 0 { // only comments
		b = append(append(b, '\n'), "secrets: {}\n"...)
		doc = yaml.Node{}
		if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
			return fmt.Errorf("%s: cannot edit this file", path)
		}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode { // an empty document
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	if len(e.Secrets) > 0 {
		sec := section(root, "secrets")
		for _, s := range e.Secrets {
			put(sec, s.Name, s.Source.Node())
		}
	}
	if len(e.Vars) > 0 {
		vars := section(root, "vars")
		for _, kv := range e.Vars {
			put(vars, kv[0], &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kv[1], Style: yaml.DoubleQuotedStyle})
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	out := buf.Bytes()
	// Re-encoding moves every trailing comment to one space after its
	// value; splicing the changed lines into the user's text keeps the
	// file as written. It is used only when it means the same document.
	if spliced, ok := splice(b, e); ok && sameDocument(spliced, out) {
		out = spliced
	}
	if _, err := Parse(path, out); err != nil {
		return fmt.Errorf("edited manifest does not parse: %w", err)
	}
	return atomicfile.WriteFile(path, out, 0o644)
}

// splice applies e to the text b line by line: a value is replaced on its
// key's line, its trailing comment kept at its column, and a new entry
// goes after the last one of its section, indented like it. ok is false
// when a change is not that simple (a section missing or in flow style, a
// value over several lines); Apply then keeps the re-encoded file.
func splice(b []byte, e Edit) ([]byte, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 {
		return nil, false
	}
	lines := strings.SplitAfter(string(b), "\n")
	after := map[int][]string{} // new lines to insert after line index i
	type change struct {
		key string
		v   *yaml.Node
	}
	edit := func(section string, changes []change) bool {
		if len(changes) == 0 {
			return true
		}
		sec := lookupKey(root, section)
		if sec == nil || sec.Kind != yaml.MappingNode || sec.Style&yaml.FlowStyle != 0 || len(sec.Content) == 0 {
			return false
		}
		seen := map[string]bool{}
		for _, c := range changes {
			if seen[c.key] {
				return false
			}
			seen[c.key] = true
			text, ok := oneLine(c.v)
			if !ok {
				return false
			}
			if k, v := lookupPair(sec, c.key); k != nil {
				if !onLine(v, k.Line) || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || k.Line > len(lines) {
					return false
				}
				line := []rune(strings.TrimRight(lines[k.Line-1], "\r\n"))
				if v.Column < 1 || v.Column > len(line) {
					return false
				}
				repl := string(line[:v.Column-1]) + text
				comment := v.LineComment
				if comment == "" {
					comment = k.LineComment
				}
				if comment != "" {
					body := strings.TrimRight(string(line), " \t")
					if !strings.HasSuffix(body, comment) {
						return false
					}
					col := utf8.RuneCountInString(body) - utf8.RuneCountInString(comment)
					repl += strings.Repeat(" ", max(1, col-utf8.RuneCountInString(repl))) + comment
				}
				lines[k.Line-1] = repl + lineEnd(lines[k.Line-1])
				continue
			}
			last := sec.Content[len(sec.Content)-1]
			end := lastNodeLine(last)
			if end < 1 || end > len(lines) || hasBlockScalar(last) {
				return false
			}
			key, _ := oneLine(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.key})
			indent := strings.Repeat(" ", sec.Content[0].Column-1)
			after[end-1] = append(after[end-1], indent+key+": "+text+"\n")
		}
		return true
	}
	var secs, vars []change
	for _, sc := range e.Secrets {
		secs = append(secs, change{sc.Name, sc.Source.Node()})
	}
	for _, kv := range e.Vars {
		vars = append(vars, change{kv[0], &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: kv[1], Style: yaml.DoubleQuotedStyle}})
	}
	if !edit("secrets", secs) || !edit("vars", vars) {
		return nil, false
	}
	var out strings.Builder
	for i, l := range lines {
		out.WriteString(l)
		if add := after[i]; len(add) > 0 {
			if !strings.HasSuffix(l, "\n") {
				out.WriteString("\n")
			}
			for _, a := range add {
				out.WriteString(a)
			}
		}
	}
	return []byte(out.String()), true
}

// sameDocument reports whether a and b decode to the same values.
func sameDocument(a, b []byte) bool {
	var va, vb any
	if yaml.Unmarshal(a, &va) != nil || yaml.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// oneLine renders n as YAML on one line.
func oneLine(n *yaml.Node) (string, bool) {
	b, err := yaml.Marshal(n)
	if err != nil {
		return "", false
	}
	s := strings.TrimSuffix(string(b), "\n")
	return s, s != "" && !strings.Contains(s, "\n")
}

func lookupPair(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func lookupKey(m *yaml.Node, key string) *yaml.Node {
	_, v := lookupPair(m, key)
	return v
}

// onLine reports whether n and everything in it starts on line.
func onLine(n *yaml.Node, line int) bool {
	if n.Line != line || n.Kind == yaml.AliasNode {
		return false
	}
	for _, c := range n.Content {
		if !onLine(c, line) {
			return false
		}
	}
	return true
}

// lastNodeLine is the last line on which a node in n starts.
func lastNodeLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastNodeLine(c))
	}
	return l
}

// hasBlockScalar reports a | or > scalar in n, whose last line is unknown.
func hasBlockScalar(n *yaml.Node) bool {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return true
	}
	for _, c := range n.Content {
		if hasBlockScalar(c) {
			return true
		}
	}
	return false
}

func lineEnd(l string) string {
	switch {
	case strings.HasSuffix(l, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(l, "\n"):
		return "\n"
	}
	return ""
}

func section(root *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			v := root.Content[i+1]
			if v.Kind != yaml.MappingNode {
				*v = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			v.Style = 0
			return v
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

func put(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			v.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}
