// Package bounded reads input up to a size limit, so that a huge file or
// stream is refused after reading one byte past the limit, not all of it.
package bounded

import (
	"errors"
	"io"
	"os"
)

// ErrTooLarge is returned when the input is larger than the limit.
var ErrTooLarge = errors.New("larger than the limit")

// ReadAll reads r to its end, or fails with ErrTooLarge after max+1 bytes.
func ReadAll(r io.Reader, max int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}

// ReadFile is ReadAll on the file at path.
func ReadFile(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, max)
}
