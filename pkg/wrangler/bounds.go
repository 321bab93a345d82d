package wrangler

import (
	"errors"
	"fmt"

	"github.com/moltctl/moltctl/pkg/internal/bounded"
)

// MaxFileSize is the largest config file read. moltworker's is 3 KB; the
// limit only keeps a hostile or mistaken file from costing time and memory.
const MaxFileSize = 1 << 20

// MaxDepth is the deepest nesting of objects and arrays accepted. hujson's
// parser recurses once per level without a limit, so the depth is checked
// by a flat scan before the file reaches it.
const MaxDepth = 64

// readBounded reads the file at path, failing without reading it all when
// it is larger than MaxFileSize.
func readBounded(path string) ([]byte, error) {
	data, err := bounded.ReadFile(path, MaxFileSize)
	if errors.Is(err, bounded.ErrTooLarge) {
		return nil, sizeError(path)
	}
	return data, err
}

func sizeError(file string) error {
	return &ParseError{File: file, Msg: fmt.Sprintf("larger than %d KiB; a wrangler configuration is a few KiB", MaxFileSize>>10)}
}

// checkBounds rejects data larger than MaxFileSize or nested deeper than
// MaxDepth. It scans the bytes once, skipping strings and comments, with
// constant memory, so any input fails fast.
func checkBounds(file string, data []byte) error {
	if len(data) > MaxFileSize {
		return sizeError(file)
	}
	depth := 0
	line, lineStart := 1, 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\n':
			line, lineStart = line+1, i+1
		case '"':
			// Skip to the closing quote; a newline ends a (broken) string
			// so positions stay right and the parser reports it.
			for i++; i < len(data) && data[i] != '"' && data[i] != '\n'; i++ {
				if data[i] == '\\' && i+1 < len(data) && data[i+1] != '\n' {
					i++
				}
			}
			if i < len(data) && data[i] == '\n' {
				i--
			}
		case '/':
			if i+1 >= len(data) {
				break
			}
			switch data[i+1] {
			case '/':
				for i < len(data) && data[i] != '\n' {
					i++
				}
				i-- // let the loop count the newline
			case '*':
				for i += 2; i < len(data) && !(data[i] == '*' && i+1 < len(data) && data[i+1] == '/'); i++ {
					if data[i] == '\n' {
						line, lineStart = line+1, i+1
					}
				}
				i++
			}
		case '{', '[':
			depth++
			if depth > MaxDepth {
				return &ParseError{File: file, Line: line, Column: i - lineStart + 1,
					Msg: fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
