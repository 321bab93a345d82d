package cfemu

import (
	"encoding/json"
	"time"
)

// logEntry is one line of the request log (--log FILE). It never holds a
// request or response body, so secret values cannot reach it.
type logEntry struct {
	Seq           int64     `json:"seq"`
	Time          time.Time `json:"time"`
	Method        string    `json:"method"`
	Host          string    `json:"host,omitempty"`
	Path          string    `json:"path"`
	Status        int       `json:"status"`
	Bytes         int       `json:"bytes"`
	ResponseBytes int       `json:"response_bytes"`
	Fault         string    `json:"fault,omitempty"`
}

func (s *Server) logRequest(e logEntry) {
	if s.opts.Log == nil {
		return
	}
	b, _ := json.Marshal(e)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	_, _ = s.opts.Log.Write(append(b, '\n'))
}
