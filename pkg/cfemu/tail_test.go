package cfemu

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/moltctl/moltctl/pkg/cfemu/worker"
)

func TestTail(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, e2eSecrets)
	base := "/accounts/" + srv.AccountID() + "/workers/scripts/"
	if code, _ := rtCall(t, srv, "POST", base+"nope/tails", map[string]any{"filters": []any{}}); code != 404 {
		t.Errorf("tail of a missing script: %d", code)
	}
	code, env := rtCall(t, srv, "POST", base+"molt/tails", map[string]any{"filters": []any{}})
	tail := rtResult(env)
	if code != 200 || !strings.HasPrefix(tail["url"].(string), "ws://"+srv.RegistryHost()+"/__emulator/tail/") || tail["expires_at"] == nil {
		t.Fatalf("create: %d %v", code, env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, tail["url"].(string), &websocket.DialOptions{Subprotocols: []string{"trace-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.Header.Get("Sec-WebSocket-Protocol") != "trace-v1" {
		t.Errorf("subprotocol %q", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"debug": false}`)); err != nil {
		t.Fatal(err)
	}
	rtGet(t, srv, "GET", "/sandbox-health", nil)
	rtGet(t, srv, "GET", "/nothing?token=gw-token", map[string]string{"Cf-Access-Client-Secret": "s3cret"})
	want := []struct {
		path   string
		status int
	}{{"/sandbox-health", 200}, {"/nothing", 200}}
	for _, w := range want {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			TailEventMessage
			Event struct {
				Request  TailRequest  `json:"request"`
				Response TailResponse `json:"response"`
			} `json:"event"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.ScriptName != "molt" || m.Outcome != "ok" || !strings.HasPrefix(m.Event.Request.URL, "https://molt.emulated.workers.dev"+w.path) || m.Event.Response.Status != w.status || len(m.Logs) == 0 {
			t.Errorf("event: %s", b)
		}
		if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "gw-token") {
			t.Errorf("event leaks a secret: %s", b)
		}
	}
	if code, _ := rtCall(t, srv, "DELETE", base+"molt/tails/"+tail["id"].(string), nil); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after delete: %v", err)
	}
}

// TestTailUnmaskedClientFrame talks to the tail as wrangler does: its
// {"debug": false} goes out as an unmasked frame, which must not end the tail.
func TestTailUnmaskedClientFrame(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, e2eSecrets)
	_, env := rtCall(t, srv, "POST", "/accounts/"+srv.AccountID()+"/workers/scripts/molt/tails", map[string]any{"filters": []any{}})
	u, _ := url.Parse(rtResult(env)["url"].(string))
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: trace-v1\r\n\r\n", u.Path, u.Host)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" || resp.Header.Get("Sec-WebSocket-Protocol") != "trace-v1" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	msg := []byte(`{"debug": false}`)
	if _, err := conn.Write(append([]byte{0x81, byte(len(msg))}, msg...)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the server read it before the event
	rtGet(t, srv, "GET", "/sandbox-health", nil)
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("no event after an unmasked frame: %v", err)
	}
	if h[0] != 0x81 || h[1]&0x80 != 0 {
		t.Errorf("frame header %x", h)
	}
}

// TestTailGatewayFault: a gateway made to fail never listens, and the
// Worker's tail carries what it printed.
func TestTailGatewayFault(t *testing.T) {
	t.Parallel()
	srv := New(Options{ColdStart: time.Millisecond}).Start()
	defer srv.Close()
	deployWorker(t, srv, e2eSecrets)
	srv.SetGatewayFault("molt", "Gateway failed to start: lock timeout after 5000ms")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sctx, scancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer scancel()
	if err := srv.workers.EnsureGateway(sctx, "molt"); err == nil {
		t.Fatal("a faulted gateway started")
	}
	_, env := rtCall(t, srv, "POST", "/accounts/"+srv.AccountID()+"/workers/scripts/molt/tails", map[string]any{"filters": []any{}})
	c, _, err := websocket.Dial(ctx, rtResult(env)["url"].(string), &websocket.DialOptions{Subprotocols: []string{"trace-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"debug": false}`)); err != nil {
		t.Fatal(err)
	}
	rtGet(t, srv, "GET", "/sandbox-health", nil)
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"[Gateway] Gateway failed to start: lock timeout after 5000ms"`) {
		t.Errorf("event lacks the gateway's failure: %s", b)
	}
	if st := srv.Gateway("molt").Status; st != worker.StatusStarting {
		t.Errorf("gateway status %q, want starting for ever", st)
	}
}
