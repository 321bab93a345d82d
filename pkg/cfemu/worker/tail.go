package worker

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

// CreateTail opens a tail of script's events, valid for six hours, and
// returns its id and expiry; ServeTail streams it.
func (h *Host) CreateTail(script string) (id string, expires time.Time) {
	t := &tailSession{id: newID(), script: script, expires: h.now().Add(6 * time.Hour).UTC(), subs: map[chan []byte]struct{}{}}
	h.tailMu.Lock()
	h.tails[t.id] = t
	h.tailMu.Unlock()
	return t.id, t.expires
}

// DeleteTail ends tail id of script, closing its streams. It reports
// whether the tail exists (ending it only when it is script's).
func (h *Host) DeleteTail(script, id string) bool {
	h.tailMu.Lock()
	defer h.tailMu.Unlock()
	t := h.tails[id]
	if t != nil && t.script == script {
		delete(h.tails, t.id)
		for ch := range t.subs {
			close(ch)
		}
		t.subs = nil
	}
	return t != nil
}

// ServeTail upgrades to a WebSocket (subprotocol trace-v1) and streams the
// events of tail id.
func (h *Host) ServeTail(w http.ResponseWriter, r *http.Request, id string) {
	h.tailMu.Lock()
	t := h.tails[id]
	var ch chan []byte
	if t != nil {
		ch = make(chan []byte, 256)
		t.subs[ch] = struct{}{}
	}
	h.tailMu.Unlock()
	if t == nil {
		http.Error(w, "tail not found", http.StatusNotFound)
		return
	}
	defer func() {
		h.tailMu.Lock()
		delete(t.subs, ch)
		h.tailMu.Unlock()
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
func (h *Host) emitTail(script string, r *http.Request, status int, logs []string, start time.Time) {
	h.tailMu.Lock()
	defer h.tailMu.Unlock()
	var targets []*tailSession
	for _, t := range h.tails {
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
