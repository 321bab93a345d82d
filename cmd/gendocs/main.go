// Command gendocs writes the generated parts of docs/: the command
// reference (docs/commands/*.md, from the cobra command tree) and the
// secrets reference (docs/secrets-reference.md, from pkg/secrets' catalogue,
// the same one the code validates with). With -check it writes nothing and
// fails when a file is stale, missing or no longer generated.
//
//	go run ./cmd/gendocs docs          # make docs
//	go run ./cmd/gendocs -check docs   # make docs-check
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/moltctl/moltctl/pkg/cmd/root"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// commandsDir holds the command reference, relative to the docs directory.
const commandsDir = "commands"

func main() {
	check := flag.Bool("check", false, "fail when the generated docs differ from what is on disk; write nothing")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: gendocs [-check] [docs-dir]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	dir := "docs"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	files, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
	if *check {
		stale, err := Stale(dir, files)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gendocs:", err)
			os.Exit(1)
		}
		if len(stale) > 0 {
			fmt.Fprintf(os.Stderr, "gendocs: %d generated doc(s) are stale: %s\nrun `make docs` and commit the result\n", len(stale), strings.Join(stale, ", "))
			os.Exit(1)
		}
		return
	}
	if err := Write(dir, files); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// Generate renders every generated file, keyed by its path relative to the
// docs directory (slash-separated).
func Generate() (map[string][]byte, error) {
	files := map[string][]byte{}
	cmd := rootCommand()
	if err := commandDocs(cmd, files); err != nil {
		return nil, err
	}
	files["secrets-reference.md"] = secretsReference()
	files["json-fields.md"] = jsonFields()
	return files, nil
}

// rootCommand builds the command tree as a user's moltctl has it, with an
// empty environment so nothing on this machine leaks into the docs.
func rootCommand() *cobra.Command {
	streams, _, _, _ := iostreams.Test()
	f := root.NewFactory(streams, func(string) string { return "" }, ".")
	f.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	cmd := root.NewCmdRoot(f)
	cmd.InitDefaultHelpCmd()
	cmd.InitDefaultCompletionCmd()
	var off func(*cobra.Command)
	off = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, s := range c.Commands() {
			off(s)
		}
	}
	off(cmd)
	return cmd
}

func fileName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
}

func commandDocs(c *cobra.Command, files map[string][]byte) error {
	if !c.IsAvailableCommand() && c.HasParent() {
		return nil
	}
	var buf bytes.Buffer
	if err := doc.GenMarkdownCustom(c, &buf, func(name string) string { return name }); err != nil {
		return fmt.Errorf("%s: %w", c.CommandPath(), err)
	}
	files[commandsDir+"/"+fileName(c)] = buf.Bytes()
	for _, s := range c.Commands() {
		if err := commandDocs(s, files); err != nil {
			return err
		}
	}
	return nil
}

// Stale lists the generated files under dir that differ from files, are
// missing, or are left over from commands that no longer exist.
func Stale(dir string, files map[string][]byte) ([]string, error) {
	var stale []string
	for _, name := range sortedKeys(files) {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, files[name]) {
			stale = append(stale, name)
		}
	}
	extra, err := leftovers(dir, files)
	if err != nil {
		return nil, err
	}
	return append(stale, extra...), nil
}

// leftovers are .md files in the commands directory that Generate no longer makes.
func leftovers(dir string, files map[string][]byte) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, commandsDir))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := commandsDir + "/" + e.Name()
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".md") && files[name] == nil {
			out = append(out, name)
		}
	}
	return out, nil
}

// Write writes files under dir and removes leftovers.
func Write(dir string, files map[string][]byte) error {
	extra, err := leftovers(dir, files)
	if err != nil {
		return err
	}
	for _, name := range extra {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(files) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
