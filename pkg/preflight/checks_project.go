package preflight

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Check IDs of the project checks.
const (
	IDConfig      = "project.config"
	IDDockerfile  = "project.dockerfile"
	IDLineEndings = "project.line-endings"
	IDBuild       = "project.build"
)

func checkConfig(_ context.Context, e *Env) Result {
	if e.ConfigErr != nil {
		return Fail(configFix(e.ConfigErr), "%v", e.ConfigErr)
	}
	if e.Config == nil {
		return Fail("run moltctl inside your moltworker checkout, or pass --config path/to/wrangler.jsonc", "no wrangler.jsonc found")
	}
	c := e.Config
	var missing []string
	if c.Name == "" {
		missing = append(missing, "name")
	}
	if c.Main == "" {
		missing = append(missing, "main")
	}
	if len(c.Containers) == 0 {
		missing = append(missing, "containers")
	}
	if len(missing) > 0 {
		return Fail("add "+strings.Join(missing, ", ")+" to "+c.Path+" (compare with moltworker's wrangler.jsonc)",
			"%s has no %s", c.Path, strings.Join(missing, ", "))
	}
	return OK("%s: Worker %s, %d container(s)", relPath(c.Path), c.Name, len(c.Containers))
}

func configFix(err error) string {
	type hinter interface{ Hint() string }
	var h hinter
	if errors.As(err, &h) && h.Hint() != "" {
		return h.Hint()
	}
	return "fix wrangler.jsonc at the position shown (JSONC: comments and trailing commas are allowed)"
}

func relPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

// dockerfiles returns each container's Dockerfile path and build context.
func (e *Env) dockerfiles() (files, contexts []string) {
	for _, ct := range e.Config.Containers {
		img := ct.Image
		if img == "" || !(strings.HasPrefix(img, ".") || strings.HasPrefix(img, "/") || strings.Contains(strings.ToLower(filepath.Base(img)), "dockerfile")) {
			continue // a registry reference, nothing to build
		}
		f := e.Config.Resolve(img)
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			f = filepath.Join(f, "Dockerfile")
		}
		ctxDir := filepath.Dir(f)
		if ct.ImageBuildContext != "" {
			ctxDir = e.Config.Resolve(ct.ImageBuildContext)
		}
		files = append(files, f)
		contexts = append(contexts, ctxDir)
	}
	return files, contexts
}

func checkDockerfile(_ context.Context, e *Env) Result {
	if e.Config == nil {
		return Skip("no valid wrangler.jsonc")
	}
	files, _ := e.dockerfiles()
	if len(files) == 0 {
		return OK("no image to build (containers use registry images)")
	}
	for i, f := range files {
		if _, err := os.Stat(f); err != nil {
			return Fail(fmt.Sprintf("restore the Dockerfile (git checkout -- %s) or fix containers[%d].image in %s", relPath(f), i, relPath(e.Config.Path)),
				"containers[%d].image names %s, which does not exist", i, relPath(f))
		}
	}
	return OK("%s", strings.Join(mapStrings(files, relPath), ", "))
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// copiedSources returns the local sources of the Dockerfile's COPY and ADD
// instructions (not --from= stages, not URLs), relative to the build context.
func copiedSources(dockerfile []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	var logical string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			logical += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		logical += line
		fields := strings.Fields(logical)
		logical = ""
		if len(fields) < 3 {
			continue
		}
		instr := strings.ToUpper(fields[0])
		if instr != "COPY" && instr != "ADD" {
			continue
		}
		args := fields[1:]
		fromStage := false
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			if strings.HasPrefix(args[0], "--from") {
				fromStage = true
			}
			args = args[1:]
		}
		if fromStage || len(args) < 2 {
			continue
		}
		if strings.HasPrefix(args[0], "[") { // JSON form
			var arr []string
			if json.Unmarshal([]byte(strings.Join(args, " ")), &arr) == nil && len(arr) >= 2 {
				args = arr
			} else {
				continue
			}
		}
		for _, src := range args[:len(args)-1] {
			if strings.Contains(src, "://") {
				continue
			}
			out = append(out, src)
		}
	}
	return out
}

// isScript reports whether a file is a shell script: by name or shebang.
func isScript(path string, head []byte) bool {
	if strings.HasSuffix(path, ".sh") || strings.HasSuffix(path, ".bash") {
		return true
	}
	return bytes.HasPrefix(head, []byte("#!"))
}

func checkLineEndings(_ context.Context, e *Env) Result {
	if e.Config == nil {
		return Skip("no valid wrangler.jsonc")
	}
	files, contexts := e.dockerfiles()
	var crlf []string
	scanned := 0
	for i, f := range files {
		df, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, src := range copiedSources(df) {
			matches, _ := filepath.Glob(filepath.Join(contexts[i], filepath.FromSlash(src)))
			for _, m := range matches {
				_ = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
					if err != nil || scanned > 5000 {
						return nil
					}
					if d.IsDir() {
						if d.Name() == "node_modules" || d.Name() == ".git" {
							return filepath.SkipDir
						}
						return nil
					}
					b, err := os.ReadFile(p)
					if err != nil || len(b) > 1<<20 {
						return nil
					}
					if !isScript(p, b) {
						return nil
					}
					scanned++
					if bytes.Contains(b, []byte("\r\n")) {
						crlf = append(crlf, relPath(p))
					}
					return nil
				})
			}
		}
	}
	if len(crlf) > 0 {
		sort.Strings(crlf)
		return Fail(fmt.Sprintf("convert to LF: sed -i 's/\\r$//' %s (and add \"*.sh text eol=lf\" to .gitattributes so git keeps them so)", strings.Join(crlf, " ")),
			"%s %s CRLF line endings: the container would exit with code 126 (moltworker #64)", strings.Join(crlf, ", "), plural(len(crlf), "has", "have"))
	}
	if scanned == 0 {
		return OK("no shell scripts are copied into the image")
	}
	return OK("%d shell script(s) copied into the image use LF line endings", scanned)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func checkBuild(_ context.Context, e *Env) Result {
	if e.Config == nil {
		return Skip("no valid wrangler.jsonc")
	}
	c := e.Config
	src := c.Source()
	if b := src.Build; b != nil && b.Command != "" {
		if c.Own != nil {
			return OK("built: %s; deploy runs %q again when the sources change", relPath(c.Path), b.Command)
		}
		return OK("not built yet (for this environment); deploy installs the dependencies when needed and runs %q", b.Command)
	}
	if c.Own != nil {
		return OK("build output found: %s", relPath(c.Path))
	}
	pkg := filepath.Join(c.ProjectDir(), "package.json")
	if b, err := os.ReadFile(pkg); err == nil {
		var p struct {
			Scripts map[string]string `json:"scripts"`
		}
		if json.Unmarshal(b, &p) == nil && p.Scripts["build"] != "" {
			return Warn(fmt.Sprintf("add \"build\": {\"command\": \"npm run build\"} to %s so deploy builds what it ships (moltworker's has it)", relPath(src.Path)),
				"package.json has a build script, but %s has no build.command: deploy uploads whatever was built last", relPath(src.Path))
		}
	}
	if c.Assets != nil && c.Assets.Directory != "" {
		if st, err := os.Stat(c.Resolve(c.Assets.Directory)); err == nil && st.IsDir() {
			return OK("build output %s exists", relPath(c.Resolve(c.Assets.Directory)))
		}
	}
	if _, err := os.Stat(c.Resolve(c.Main)); err == nil {
		return OK("no build step; deploy uploads %s", c.Main)
	}
	return Fail(fmt.Sprintf("run your build (npm run build) or add \"build\": {\"command\": \"npm run build\"} to %s", relPath(c.Path)),
		"no build output, no build command, and %s does not exist", c.Main)
}
