package wrangler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tailscale/hujson"
)

// FileNames are the config files looked for, in wrangler's order of preference.
var FileNames = []string{"wrangler.jsonc", "wrangler.json"}

// ErrNotFound is returned by Find when no config file exists up to the root.
var ErrNotFound = errors.New("no wrangler.jsonc or wrangler.json found")

// ParseError is a syntax or type error at a position in a config file.
type ParseError struct {
	File   string
	Line   int
	Column int
	Msg    string
	cause  error
}

func (e *ParseError) Unwrap() error { return e.cause }

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// ExitCode marks a bad config file as bad input (exit code 2).
func (e *ParseError) ExitCode() int { return 2 }

// Find walks up from dir to the first directory holding a config file.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		for _, name := range FileNames {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "wrangler.toml")); err == nil {
			return "", &ParseError{File: filepath.Join(dir, "wrangler.toml"),
				Msg: "wrangler.toml is not supported; convert it to wrangler.jsonc (wrangler's recommended format)"}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}

// Load reads the config file at path and applies environment env ("" for
// the top level).
func Load(path, env string) (*Config, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	cfg.Path, _ = filepath.Abs(path)
	if cfg.TopLevelName != "" {
		// A flattened build output: the environment was applied at build time.
		return cfg, nil
	}
	return cfg.WithEnv(env)
}

// LoadDeploy reads the configuration that a deploy will upload. When the
// project has been built with @cloudflare/vite-plugin for environment env,
// that is the flattened config that .wrangler/deploy/config.json points at;
// otherwise (never built, or built for another environment) the user's file.
// Either way Own is the user's file with env applied: what decides whether
// to build, and the Worker name the environment names.
func LoadDeploy(path, env string) (*Config, error) {
	own, gen, err := loadBoth(path, env)
	if err != nil {
		return nil, err
	}
	if gen == nil || gen.Name != own.Name {
		return own, nil
	}
	return gen, nil
}

// LoadBuilt reads the configuration a build just wrote for env and refuses
// it when the Worker it names is not the one env names (a build that did
// not honour CLOUDFLARE_ENV would otherwise deploy over another Worker).
func LoadBuilt(path, env string) (*Config, error) {
	own, gen, err := loadBoth(path, env)
	if err != nil {
		return nil, err
	}
	if gen == nil {
		return own, nil
	}
	if gen.Name != own.Name {
		what := "the top level"
		if env != "" {
			what = fmt.Sprintf("environment %q", env)
		}
		return nil, &ParseError{File: gen.Path, Msg: fmt.Sprintf(
			"the build wrote the configuration of Worker %q, but %s of %s names Worker %q; "+
				"the build must honour CLOUDFLARE_ENV (@cloudflare/vite-plugin does unless vite.config sets viteEnvironment or configPath otherwise)",
			gen.Name, what, filepath.Base(path), own.Name)}
	}
	return gen, nil
}

// loadBoth reads the user's config for env and the flattened build output
// (nil when there is none).
func loadBoth(path, env string) (own, gen *Config, err error) {
	own, err = Load(path, env)
	if err != nil {
		return nil, nil, err
	}
	redirect, err := readRedirect(filepath.Dir(path))
	if err != nil || redirect == "" {
		// A redirect whose target is gone means "not built": build again.
		var pe *ParseError
		if errors.As(err, &pe) && errors.Is(pe.cause, fs.ErrNotExist) {
			return own, nil, nil
		}
		return own, nil, err
	}
	gen, err = Load(redirect, env)
	if err != nil {
		return nil, nil, err
	}
	gen.SourcePath = own.Path
	gen.EnvName = env
	gen.Own = own
	// The build wrote this file from the user's, which wrangler has
	// already warned about; its fields are not the user's to fix.
	gen.Warnings = nil
	return own, gen, nil
}

// RedirectPath returns the flattened config a build left for projectDir, or "".
func RedirectPath(projectDir string) (string, error) { return readRedirect(projectDir) }

func readRedirect(projectDir string) (string, error) {
	p := filepath.Join(projectDir, ".wrangler", "deploy", "config.json")
	data, err := readBounded(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var r struct {
		ConfigPath string `json:"configPath"`
	}
	if err := decodeStrict(p, data, &r); err != nil {
		return "", err
	}
	if r.ConfigPath == "" {
		return "", &ParseError{File: p, Msg: `"configPath" is missing`}
	}
	target := r.ConfigPath
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	if _, err := os.Stat(target); err != nil {
		return "", &ParseError{File: p, Msg: fmt.Sprintf("redirected config %s does not exist; rebuild the project", target), cause: err}
	}
	return target, nil
}

// Parse decodes JSONC bytes into a Config. file names the source in errors.
// Fields wrangler does not know are kept out and listed in Warnings; an
// invalid Worker name is an error.
func Parse(file string, data []byte) (*Config, error) {
	ast, err := parseJSONC(file, data)
	if err != nil {
		return nil, err
	}
	warnings, pos := inspect(file, data, ast)
	var cfg Config
	if err := decode(file, ast, &cfg); err != nil {
		return nil, err
	}
	if err := checkNames(file, &cfg, pos); err != nil {
		return nil, err
	}
	cfg.Warnings = warnings
	return &cfg, nil
}

// decodeStrict decodes JSONC data into v.
func decodeStrict(file string, data []byte, v any) error {
	ast, err := parseJSONC(file, data)
	if err != nil {
		return err
	}
	return decode(file, ast, v)
}

// parseJSONC parses data, bounded in size and depth first: hujson's parser
// recurses once per level of nesting.
func parseJSONC(file string, data []byte) (hujson.Value, error) {
	if err := checkBounds(file, data); err != nil {
		return hujson.Value{}, err
	}
	ast, err := hujson.Parse(data)
	if err != nil {
		line, col := 0, 0
		msg := err.Error()
		// hujson reports "hujson: line L, column C: msg".
		if _, scanErr := fmt.Sscanf(msg, "hujson: line %d, column %d:", &line, &col); scanErr == nil {
			if i := strings.Index(msg, ": "); i >= 0 {
				if j := strings.Index(msg[i+2:], ": "); j >= 0 {
					msg = msg[i+2+j+2:]
				}
			}
		}
		return hujson.Value{}, &ParseError{File: file, Line: line, Column: col, Msg: "syntax error: " + msg}
	}
	return ast, nil
}

// decode standardises the JSONC to JSON (which keeps byte offsets, so
// positions still point into the user's file) and decodes it into v.
func decode(file string, ast hujson.Value, v any) error {
	ast.Standardize()
	std := ast.Pack()
	dec := json.NewDecoder(bytes.NewReader(std))
	if err := dec.Decode(v); err != nil {
		return positionError(file, std, err)
	}
	return nil
}

func positionError(file string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		l, c := lineColumn(data, int(syn.Offset))
		return &ParseError{File: file, Line: l, Column: c, Msg: "syntax error: " + syn.Error()}
	case errors.As(err, &typ):
		l, c := lineColumn(data, valueStart(data, int(typ.Offset)))
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return &ParseError{File: file, Line: l, Column: c,
			Msg: fmt.Sprintf("%q must be %s, not %s", field, describeType(typ.Type.Kind().String()), typ.Value)}
	default:
		return &ParseError{File: file, Msg: err.Error()}
	}
}

// valueStart moves back from the end offset the decoder reports to the
// start of the offending value, so the column points at it.
func valueStart(data []byte, end int) int {
	if end > len(data) {
		end = len(data)
	}
	i := end - 1
	for i > 0 && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r') {
		i--
	}
	depth := 0
	for ; i > 0; i-- {
		switch data[i] {
		case '}', ']':
			depth++
		case '{', '[':
			depth--
			if depth <= 0 {
				return i
			}
		case ':', ',':
			if depth == 0 {
				j := i + 1
				for j < end && (data[j] == ' ' || data[j] == '\n' || data[j] == '\t' || data[j] == '\r') {
					j++
				}
				return j
			}
		}
	}
	return i
}

func describeType(kind string) string {
	switch kind {
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	case "int", "int64", "float64":
		return "a number"
	default:
		return "a " + kind
	}
}

func lineColumn(b []byte, n int) (line, col int) {
	if n > len(b) {
		n = len(b)
	}
	line = 1 + bytes.Count(b[:n], []byte("\n"))
	col = n - bytes.LastIndexByte(b[:n], '\n')
	return line, col
}

// WithEnv returns the configuration for environment name, following
// wrangler's rules: inheritable keys fall back to the top level, the Worker
// name defaults to "<name>-<env>", and bindings are never inherited.
func (c *Config) WithEnv(name string) (*Config, error) {
	if name == "" {
		out := *c
		out.Env = nil
		return &out, nil
	}
	if !ValidEnvName(name) {
		return nil, &ParseError{File: c.Path, Msg: fmt.Sprintf("--env %s is not a valid environment name: %s", quoteName(name), workerNameRule)}
	}
	e, ok := c.Env[name]
	if !ok {
		known := make([]string, 0, len(c.Env))
		for k := range c.Env {
			known = append(known, k)
		}
		sort.Strings(known)
		msg := fmt.Sprintf("no environment %q in %s", name, filepath.Base(c.Path))
		if len(known) > 0 {
			msg += " (defined: " + strings.Join(known, ", ") + ")"
		}
		return nil, &ParseError{File: c.Path, Msg: msg}
	}
	out := e
	out.Path, out.EnvName, out.Env = c.Path, name, nil
	out.Warnings = c.Warnings
	out.Schema = c.Schema
	if out.Name == "" && c.Name != "" {
		out.Name = c.Name + "-" + name
	}
	inheritString(&out.Main, c.Main)
	inheritString(&out.AccountID, c.AccountID)
	inheritString(&out.CompatibilityDate, c.CompatibilityDate)
	if out.CompatibilityFlags == nil {
		out.CompatibilityFlags = c.CompatibilityFlags
	}
	if out.WorkersDev == nil {
		out.WorkersDev = c.WorkersDev
	}
	if out.PreviewURLs == nil {
		out.PreviewURLs = c.PreviewURLs
	}
	if out.Routes == nil {
		out.Routes = c.Routes
	}
	if out.Observability == nil {
		out.Observability = c.Observability
	}
	if out.Assets == nil {
		out.Assets = c.Assets
	}
	if out.Rules == nil {
		out.Rules = c.Rules
	}
	if out.Build == nil {
		out.Build = c.Build
	}
	if out.Migrations == nil {
		out.Migrations = c.Migrations
	}
	if out.Triggers == nil {
		out.Triggers = c.Triggers
	}
	return &out, nil
}

func inheritString(dst *string, top string) {
	if *dst == "" {
		*dst = top
	}
}
