package cfemu

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tailSession is a Workers tail: a WebSocket URL that streams one
// TailEventMessage per request the deployed Worker serves.
type tailSession struct {
	id      string
	script  string
	expires time.Time
	subs    map[chan []byte]struct{}
}

// TailEventMessage is what a tail WebSocket sends (wrangler's type, plus the
// response status so clients can filter on it).
type TailEventMessage struct {
	Outcome        string          `json:"outcome"`
	ScriptName     string          `json:"scriptName"`
	Exceptions     []TailException `json:"exceptions"`
	Logs           []TailLog       `json:"logs"`
	EventTimestamp int64           `json:"eventTimestamp"`
	Event          TailEvent       `json:"event"`
}

// TailException is an uncaught exception.
type TailException struct {
	Name      string `json:"name"`
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"`
}

// TailLog is one console call.
type TailLog struct {
	Message   []any  `json:"message"`
	Level     string `json:"level"`
	Timestamp int64  `json:"timestamp"`
}

// TailEvent is a request event.
type TailEvent struct {
	Request  TailRequest   `json:"request"`
	Response *TailResponse `json:"response,omitempty"`
}

// TailRequest describes the request.
type TailRequest struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	CF      map[string]any    `json:"cf"`
}

// TailResponse carries the response status.
type TailResponse struct {
	Status int `json:"status"`
}

// redactedHeaders never reach a tail: they carry credentials.
var redactedHeaders = map[string]bool{
	"authorization": true, "cookie": true, "cf-access-client-secret": true, "cf-access-jwt-assertion": true,
}

func (s *Server) registerTail() {
	s.handle("POST", "/accounts/{account_id}/workers/scripts/{script}/tails", s.createTail)
	s.handle("DELETE", "/accounts/{account_id}/workers/scripts/{script}/tails/{tail_id}", s.deleteTail)
	s.api.HandleFunc("GET /__emulator/tail/{tail_id}", s.serveTail)
}

func (s *Server) createTail(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rtAuthorize(w, r, "Workers Scripts Write"); !ok {
		return
	}
	if !s.rtAccount(w, r) {
		return
	}
	script := r.PathValue("script")
	if s.state.Scripts[script] == nil {
		fail(w, http.StatusNotFound, 10007, "This Worker does not exist on your account.")
		return
	}
	t := &tailSession{id: newID(), script: script, expires: s.opts.Now().Add(6 * time.Hour).UTC(), subs: map[chan []byte]struct{}{}}
	s.rt.tailMu.Lock()
	if s.rt.tails == nil {
		s.rt.tails = map[string]*tailSession{}
	}
	s.rt.tails[t.id] = t
	s.rt.tailMu.Unlock()
	ok(w, http.StatusOK, map[string]any{"id": t.id, "url": "ws://" + r.Host + "/__emulator/tail/" + t.id, "expires_at": t.expires})
}

func (s *Server) deleteTail(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rtAuthorize(w, r, "Workers Scripts Write"); !ok {
		return
	}
	if !s.rtAccount(w, r) {
		return
	}
	s.rt.tailMu.Lock()
	t := s.rt.tails[r.PathValue("tail_id")]
	if t != nil && t.script == r.PathValue("script") {
		delete(s.rt.tails, t.id)
		for ch := range t.subs {
			close(ch)
		}
		t.subs = nil
	}
	s.rt.tailMu.Unlock()
	if t == nil {
		fail(w, http.StatusNotFound, 10000, "tail not found")
		return
	}
	ok(w, http.StatusOK, nil)
}

// serveTail upgrades to a WebSocket (subprotocol trace-v1) and streams events.
func (s *Server) serveTail(w http.ResponseWriter, r *http.Request) {
	s.rt.tailMu.Lock()
	t := s.rt.tails[r.PathValue("tail_id")]
	var ch chan []byte
	if t != nil {
		ch = make(chan []byte, 256)
		t.subs[ch] = struct{}{}
	}
	s.rt.tailMu.Unlock()
	if t == nil {
		http.Error(w, "tail not found", http.StatusNotFound)
		return
	}
	defer func() {
		s.rt.tailMu.Lock()
		delete(t.subs, ch)
		s.rt.tailMu.Unlock()
	}()
	c, err := wsAccept(w, r, "trace-v1")
	if err != nil {
		return
	}
	defer c.conn.Close()
	done := make(chan struct{})
	go c.readLoop(done)
	for {
		select {
		case <-done:
			return
		case <-r.Context().Done():
			return
		case msg, open := <-ch:
			if !open {
				c.close(1000, "tail deleted")
				return
			}
			_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := c.writeFrame(wsText, msg); err != nil {
				return
			}
		}
	}
}

// emitTail sends one event to every tail of script.
func (s *Server) emitTail(script string, r *http.Request, status int, logs []string, start time.Time) {
	s.rt.tailMu.Lock()
	defer s.rt.tailMu.Unlock()
	var targets []*tailSession
	for _, t := range s.rt.tails {
		if t.script == script && len(t.subs) > 0 {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return
	}
	headers := map[string]string{}
	for k, v := range r.Header {
		k = strings.ToLower(k)
		if redactedHeaders[k] {
			headers[k] = "REDACTED"
			continue
		}
		headers[k] = strings.Join(v, ", ")
	}
	u := url.URL{Scheme: "https", Host: strings.TrimSuffix(hostOnly(r.Host), ".localhost"), Path: r.URL.Path}
	q := r.URL.Query()
	for _, k := range []string{"token", "secret"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	ts := start.UnixMilli()
	m := TailEventMessage{Outcome: "ok", ScriptName: script, Exceptions: []TailException{}, EventTimestamp: ts,
		Event: TailEvent{Request: TailRequest{URL: u.String(), Method: r.Method, Headers: headers, CF: map[string]any{}},
			Response: &TailResponse{Status: status}}}
	for _, l := range logs {
		m.Logs = append(m.Logs, TailLog{Message: []any{l}, Level: "log", Timestamp: ts})
	}
	b, _ := json.Marshal(m)
	for _, t := range targets {
		for ch := range t.subs {
			select {
			case ch <- b:
			default: // a slow reader loses events rather than stalling the Worker
			}
		}
	}
}
