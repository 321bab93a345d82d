package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Tail is a live Workers tail: Cloudflare streams one TailEvent per
// invocation of the Worker over a WebSocket until the tail is deleted.
type Tail struct {
	c      *Client
	script string
	id     string
	conn   *websocket.Conn
}

// TailEvent is a tail event message (trace-v1).
type TailEvent struct {
	Outcome        string          `json:"outcome"`
	ScriptName     string          `json:"scriptName"`
	Exceptions     []TailException `json:"exceptions"`
	Logs           []TailLog       `json:"logs"`
	EventTimestamp int64           `json:"eventTimestamp"`
	Event          struct {
		Request *struct {
			URL    string `json:"url"`
			Method string `json:"method"`
		} `json:"request,omitempty"`
		Response *struct {
			Status int `json:"status"`
		} `json:"response,omitempty"`
		Cron string `json:"cron,omitempty"`
	} `json:"event"`
}

// TailException is an uncaught exception in a tail event.
type TailException struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// TailLog is one console call in a tail event.
type TailLog struct {
	Message []any  `json:"message"`
	Level   string `json:"level"`
}

// Text is the console call's arguments joined as console.log prints them.
func (l TailLog) Text() string {
	parts := make([]string, 0, len(l.Message))
	for _, m := range l.Message {
		if s, ok := m.(string); ok {
			parts = append(parts, s)
			continue
		}
		b, _ := json.Marshal(m)
		parts = append(parts, string(b))
	}
	return strings.Join(parts, " ")
}

// ErrTailClosed is returned by Next when Cloudflare closed the tail.
var ErrTailClosed = errors.New("the tail was closed by Cloudflare")

// StartTail creates a tail of script with filters (Cloudflare's tail
// filters; nil for none) and connects to it. The caller must Close it, which
// deletes the tail.
func (c *Client) StartTail(ctx context.Context, script string, filters []map[string]any) (*Tail, error) {
	if filters == nil {
		filters = []map[string]any{}
	}
	var created struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if err := c.Do(ctx, Request{Method: http.MethodPost, Path: c.AccountPath("workers/scripts/%s/tails", url.PathEscape(script)), JSON: map[string]any{"filters": filters}}, &created); err != nil {
		return nil, fmt.Errorf("start a tail of Worker %q: %w", script, err)
	}
	t := &Tail{c: c, script: script, id: created.ID}
	conn, _, err := websocket.Dial(ctx, created.URL, &websocket.DialOptions{
		Subprotocols: []string{"trace-v1"},
		HTTPClient:   c.http,
	})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("connect to the tail: %w", err)
	}
	conn.SetReadLimit(4 << 20)
	t.conn = conn
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"debug":false}`)); err != nil {
		t.Close()
		return nil, fmt.Errorf("start the tail: %w", err)
	}
	return t, nil
}

// Next returns the next event and its raw message. Messages that are not
// events are skipped. It returns ctx's error when ctx ends and
// ErrTailClosed when Cloudflare closes the tail.
func (t *Tail) Next(ctx context.Context) (*TailEvent, []byte, error) {
	for {
		_, msg, err := t.conn.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				return nil, nil, ErrTailClosed
			}
			return nil, nil, fmt.Errorf("read the tail: %w", err)
		}
		var ev TailEvent
		if json.Unmarshal(msg, &ev) == nil {
			return &ev, msg, nil
		}
	}
}

// Close closes the connection and deletes the tail. It does not take a
// context: it must run after the caller's was cancelled (Ctrl-C), and is
// bounded on its own.
func (t *Tail) Close() {
	if t.conn != nil {
		t.conn.CloseNow()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = t.c.Do(ctx, Request{Method: http.MethodDelete, Path: t.c.AccountPath("workers/scripts/%s/tails/%s", url.PathEscape(t.script), url.PathEscape(t.id))}, nil)
}
