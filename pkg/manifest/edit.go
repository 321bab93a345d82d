package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

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
	if _, err := Parse(path, buf.Bytes()); err != nil {
		return fmt.Errorf("edited manifest does not parse: %w", err)
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
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
