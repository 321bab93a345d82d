package cmdutil

import (
	"encoding/json"
	"io"
)

// WriteJSON writes v as indented JSON followed by a newline. JSON field
// names are a contract: see docs/json-output.md.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
