package cfemu

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestTail(t *testing.T) {
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
		if m.ScriptName != "molt" || m.Outcome != "ok" || !strings.Contains(m.Event.Request.URL, w.path) || m.Event.Response.Status != w.status || len(m.Logs) == 0 {
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
