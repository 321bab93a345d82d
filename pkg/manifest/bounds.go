package manifest

import (
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/moltctl/moltctl/pkg/internal/bounded"
)

// MaxFileSize is the largest moltctl.yaml or dotenv file read: both are a
// few KiB, and the limit keeps a hostile or mistaken file cheap to refuse.
const MaxFileSize = 1 << 20

// MaxDepth is the deepest nesting accepted in moltctl.yaml; the format
// needs four levels.
const MaxDepth = 64

// readBounded reads the file at path, failing without reading it all when
// it is larger than MaxFileSize.
func readBounded(path string) ([]byte, error) {
	b, err := bounded.ReadFile(path, MaxFileSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, tooLarge(path)
	}
	return b, err
}

func tooLarge(path string) *Error {
	return &Error{Path: path, Msg: fmt.Sprintf("larger than %d KiB", MaxFileSize>>10), Fix: "point moltctl at the right file; this one is far larger than any it reads"}
}

func tooDeep(path string, line, col int) *Error {
	return &Error{Path: path, Line: line, Col: col, Msg: fmt.Sprintf("nested deeper than %d levels", MaxDepth), Fix: "see docs/manifest.md for the format"}
}

// checkFlowDepth finds YAML flow collections ([ and {) nested deeper than
// MaxDepth, skipping quoted strings and comments, in one pass with
// constant memory, before the YAML parser sees them. Block nesting is
// checked on the parsed tree (checkTreeDepth); yaml.v3 stops both at
// 10000 levels itself.
func checkFlowDepth(path string, data []byte) *Error {
	depth := 0
	line, lineStart := 1, 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line, lineStart = line+1, i+1
		case '#':
			if i == lineStart || data[i-1] == ' ' || data[i-1] == '\t' {
				for i < len(data) && data[i] != '\n' {
					i++
				}
				i--
			}
		case '"', '\'':
			// A quote opens a string only where a value starts.
			if i > lineStart && !isValueStart(data[i-1]) {
				break
			}
			for i++; i < len(data) && data[i] != c; i++ {
				switch {
				case data[i] == '\n':
					line, lineStart = line+1, i+1
				case c == '"' && data[i] == '\\':
					i++
					if i < len(data) && data[i] == '\n' {
						line, lineStart = line+1, i+1
					}
				}
			}
		case '[', '{':
			// Outside a flow collection, a bracket opens one only where a
			// node starts (line start, after "key:", "-" or "?"); elsewhere
			// it is text in a plain scalar (x [1]).
			if depth == 0 && !blockNodeStart(data[lineStart:i]) {
				break
			}
			depth++
			if depth > MaxDepth {
				return tooDeep(path, line, i-lineStart+1)
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

// blockNodeStart reports whether a node can start after prefix, the line
// up to here.
func blockNodeStart(prefix []byte) bool {
	j := len(prefix) - 1
	for j >= 0 && (prefix[j] == ' ' || prefix[j] == '\t') {
		j--
	}
	if j < 0 {
		return true
	}
	switch prefix[j] {
	case ':', '-', '?':
		return j+1 < len(prefix) // the indicator is followed by a space
	}
	return false
}

func isValueStart(prev byte) bool {
	switch prev {
	case ' ', '\t', '[', '{', ',', ':', '-', '?':
		return true
	}
	return false
}

// checkTreeDepth walks the parsed document without recursion and reports
// the first node deeper than MaxDepth.
func checkTreeDepth(path string, doc *yaml.Node) *Error {
	type item struct {
		n     *yaml.Node
		depth int
	}
	stack := []item{{doc, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > MaxDepth {
			return tooDeep(path, it.n.Line, it.n.Column)
		}
		for _, c := range it.n.Content {
			stack = append(stack, item{c, it.depth + 1})
		}
	}
	return nil
}

// yamlDepthError is in yaml.v3's own depth error, which has no position.
const yamlDepthError = "exceeded max depth"
