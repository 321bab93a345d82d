package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// RequestLog collects the JSON lines the emulator logs (cfemu.Options.Log)
// from its goroutines.
type RequestLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *RequestLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Lines returns every logged request as a JSON object.
func (l *RequestLog) Lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// ChangesSince lists, as "METHOD path", the logged requests after the
// first mark ones that changed the account, leaving out what every run
// does without changing anything: the deploy lease (its bucket and
// object), the registry login and pushes of blobs the registry has, and
// the state object, which records each run's time.
func (l *RequestLog) ChangesSince(mark int) []string {
	var out []string
	lines := l.Lines()
	if mark > len(lines) {
		mark = len(lines)
	}
	for _, r := range lines[mark:] {
		m, _ := r["method"].(string)
		p, _ := r["path"].(string)
		if m == http.MethodGet || m == http.MethodHead || strings.Contains(p, "/containers/registries/") ||
			strings.Contains(p, "/r2/buckets/moltctl-lock-") || (m == http.MethodPost && strings.HasSuffix(p, "/r2/buckets")) ||
			(m == http.MethodPut && strings.Contains(p, "/r2/buckets/moltctl-state/objects/")) || strings.HasPrefix(p, "/v2/") {
			continue
		}
		out = append(out, m+" "+p)
	}
	return out
}
