package manifest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/moltctl/moltctl/pkg/secrets"
)

// DotenvEntry is one KEY=VALUE of a .dev.vars or .env file.
type DotenvEntry struct {
	Key   string
	Value string
	Line  int
}

// ParseDotenv reads the dotenv format wrangler reads for .dev.vars:
// KEY=VALUE lines, blank lines and # comments, an optional `export `
// prefix, values in single quotes (literal), double quotes (with \n, \r,
// \t, \" and \\ escapes; may span lines) or bare (a trailing " # comment"
// is dropped, surrounding spaces trimmed). A later key replaces an earlier
// one. Errors give path:line(:col) and never a value, nor any text of a
// line that is not KEY=VALUE (it may be the tail of a pasted key).
func ParseDotenv(path string, data []byte) ([]DotenvEntry, error) {
	if len(data) > MaxFileSize {
		return nil, ErrorList{tooLarge(path)}
	}
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	s = strings.TrimPrefix(s, "\ufeff")
	var out []DotenvEntry
	index := map[string]int{}
	var errs ErrorList
	line := 1
	i := 0
	errAt := func(l, col int, format string, args ...any) {
		errs = append(errs, &Error{Path: path, Line: l, Col: col, Msg: fmt.Sprintf(format, args...),
			Fix: "write one KEY=VALUE per line (names: letters, digits and _); quote values with spaces or # in them, and values spanning lines with \"...\""})
	}
	for i < len(s) && len(errs) < maxDotenvErrors {
		// One logical line starts at i.
		start := i
		end := strings.IndexByte(s[i:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += i
		}
		text := s[i:end]
		trimmed := strings.TrimLeft(text, " \t")
		col := len(text) - len(trimmed) + 1
		if trimmed == "" || trimmed[0] == '#' {
			i = end + 1
			line++
			continue
		}
		if strings.HasPrefix(trimmed, "export ") || strings.HasPrefix(trimmed, "export\t") {
			rest := strings.TrimLeft(trimmed[len("export"):], " \t")
			col += len(trimmed) - len(rest)
			trimmed = rest
		}
		eq := strings.IndexByte(trimmed, '=')
		key := ""
		if eq >= 0 {
			key = strings.TrimRight(trimmed[:eq], " \t")
		}
		if !secrets.ValidName(key) || base64Tail(key, strings.TrimSpace(trimmed[eq+1:])) {
			// Never echo the line: a pasted PEM or base64 tail is a secret.
			errAt(line, 0, "not NAME=value")
			i = end + 1
			line++
			continue
		}
		entryLine := line
		vstart := start + (len(text) - len(trimmed)) + eq + 1 // offset of the value in s
		for vstart < len(s) && (s[vstart] == ' ' || s[vstart] == '\t') {
			vstart++
		}
		vcol := vstart - start + 1
		var value string
		next := end + 1
		if vstart < len(s) && (s[vstart] == '"' || s[vstart] == '\'' || s[vstart] == '`') {
			q := s[vstart]
			var b strings.Builder
			j := vstart + 1
			closed := false
			for ; j < len(s); j++ {
				c := s[j]
				if c == q {
					closed = true
					break
				}
				if c == '\n' {
					line++
				}
				if q == '"' && c == '\\' && j+1 < len(s) {
					switch s[j+1] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case '"', '\\':
						b.WriteByte(s[j+1])
					default:
						b.WriteByte('\\')
						b.WriteByte(s[j+1])
					}
					j++
					continue
				}
				b.WriteByte(c)
			}
			if !closed {
				errAt(entryLine, vcol, "%s: unterminated quoted value", key)
				return nil, errs
			}
			// After the closing quote: spaces, then end of line or a comment.
			restEnd := strings.IndexByte(s[j+1:], '\n')
			if restEnd < 0 {
				restEnd = len(s)
			} else {
				restEnd += j + 1
			}
			rest := strings.TrimLeft(s[j+1:restEnd], " \t")
			if rest != "" && rest[0] != '#' {
				errAt(line, restEnd-len(rest)-strings.LastIndexByte(s[:restEnd-len(rest)], '\n'), "%s: unexpected text after the closing quote", key)
			}
			value = b.String()
			next = restEnd + 1
		} else {
			raw := ""
			if vstart <= end {
				raw = s[vstart:end]
			}
			if k := strings.Index(raw, " #"); k >= 0 {
				raw = raw[:k]
			} else if k := strings.Index(raw, "\t#"); k >= 0 {
				raw = raw[:k]
			}
			value = strings.TrimSpace(raw)
		}
		if k, ok := index[key]; ok {
			out[k] = DotenvEntry{Key: key, Value: value, Line: entryLine}
		} else {
			index[key] = len(out)
			out = append(out, DotenvEntry{Key: key, Value: value, Line: entryLine})
		}
		i = next
		line++
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// base64Tail reports whether a line read as key=rest is rather the last
// line of a pasted base64 block (a PEM key, say): "…x=" or "…x==", with a
// long "key" of mixed-case letters, which names never are. Taking it for
// an entry would make a piece of the secret a name, which is printed.
func base64Tail(key, rest string) bool {
	if rest != "" && rest != "=" {
		return false
	}
	if len(key) > 64 {
		return true
	}
	return len(key) >= 16 && strings.ContainsAny(key, "abcdefghijklmnopqrstuvwxyz") && strings.ContainsAny(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

// maxDotenvErrors stops a file that is not dotenv at all from giving an
// error per line.
const maxDotenvErrors = 10

// FormatDotenv writes entries (sorted by key) in a form ParseDotenv reads
// back exactly: every value double-quoted with escapes.
func FormatDotenv(header string, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(header), "\n") {
		if l != "" {
			b.WriteString("# " + l + "\n")
		}
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	for _, k := range keys {
		b.WriteString(k + `="` + r.Replace(m[k]) + "\"\n")
	}
	return []byte(b.String())
}
