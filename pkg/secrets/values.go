package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
)

// Redacted is what every printed form of a value shows instead.
const Redacted = "[redacted]"

// Values holds secret values by name. Printing it in any way (fmt verbs,
// %#v, JSON, slog) shows names only; the values are reachable solely
// through Get and Reveal, which make every read explicit.
type Values struct {
	m map[string]string
}

// NewValues copies m into a Values.
func NewValues(m map[string]string) Values {
	v := Values{m: make(map[string]string, len(m))}
	for k, x := range m {
		v.m[k] = x
	}
	return v
}

// Get returns name's value.
func (v Values) Get(name string) (string, bool) {
	x, ok := v.m[name]
	return x, ok
}

// Has reports whether name has a value.
func (v Values) Has(name string) bool {
	_, ok := v.m[name]
	return ok
}

// Set stores name's value.
func (v *Values) Set(name, value string) {
	if v.m == nil {
		v.m = map[string]string{}
	}
	v.m[name] = value
}

// Delete removes name.
func (v *Values) Delete(name string) { delete(v.m, name) }

// Len is the number of names.
func (v Values) Len() int { return len(v.m) }

// Names returns the names, sorted.
func (v Values) Names() []string {
	out := make([]string, 0, len(v.m))
	for k := range v.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Reveal returns a copy of the values, for sending them. Use sparingly.
func (v Values) Reveal() map[string]string {
	out := make(map[string]string, len(v.m))
	for k, x := range v.m {
		out[k] = x
	}
	return out
}

// Merge returns v with o's values added (o wins).
func (v Values) Merge(o Values) Values {
	out := NewValues(v.m)
	for k, x := range o.m {
		out.Set(k, x)
	}
	return out
}

// String lists the names with their values redacted.
func (v Values) String() string {
	names := v.Names()
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + Redacted
	}
	return "secrets.Values{" + strings.Join(parts, ", ") + "}"
}

// GoString is String, so %#v cannot reveal values.
func (v Values) GoString() string { return v.String() }

// Format makes every fmt verb print String.
func (v Values) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(v.String())) }

// MarshalJSON writes the names with redacted values.
func (v Values) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range v.Names() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%q", n, Redacted)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// LogValue keeps values out of slog output.
func (v Values) LogValue() slog.Value { return slog.StringValue(v.String()) }

// Digest is the HMAC-SHA256 of value under key, in hex. moltctl stores
// digests of what it sent so it can tell a changed value without keeping it.
func Digest(key []byte, value string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}
