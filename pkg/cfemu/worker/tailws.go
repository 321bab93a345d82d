package worker

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// The tail endpoint speaks WebSocket with a small server of its own rather
// than a library: wrangler sends its {"debug": …} message as an unmasked
// client frame (it passes mask: false to ws), which Cloudflare accepts and
// RFC 6455 libraries reject by closing the connection. This server accepts
// client frames masked or not; everything it sends is a valid server frame.

const (
	wsText  = 0x1
	wsClose = 0x8
	wsPing  = 0x9
	wsPong  = 0xA
)

// wsConn is a hijacked WebSocket connection (server side).
type wsConn struct {
	conn net.Conn
	br   *bufio.Reader
	mu   sync.Mutex // serialises writes
}

// wsAccept completes the opening handshake, choosing subprotocol when the
// client offers it.
func wsAccept(w http.ResponseWriter, r *http.Request, subprotocol string) (*wsConn, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" || r.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(w, "a WebSocket upgrade is required", http.StatusUpgradeRequired)
		return nil, errors.New("not a WebSocket upgrade")
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot upgrade", http.StatusInternalServerError)
		return nil, err
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n"
	for _, p := range strings.Split(r.Header.Get("Sec-WebSocket-Protocol"), ",") {
		if strings.TrimSpace(p) == subprotocol {
			resp += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n"
			break
		}
	}
	if _, err := conn.Write([]byte(resp + "\r\n")); err != nil {
		conn.Close()
		return nil, err
	}
	return &wsConn{conn: conn, br: rw.Reader}, nil
}

// readFrame reads one frame (masked or not) and returns its opcode and payload.
func (c *wsConn) readFrame() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	op, masked, n := h[0]&0x0f, h[1]&0x80 != 0, uint64(h[1]&0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, errors.New("frame too large")
	}
	var key [4]byte
	if masked {
		if _, err := io.ReadFull(c.br, key[:]); err != nil {
			return 0, nil, err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return op, p, nil
}

// writeFrame writes one unfragmented server frame.
func (c *wsConn) writeFrame(op byte, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := []byte{0x80 | op}
	switch n := len(p); {
	case n < 126:
		h = append(h, byte(n))
	case n < 1<<16:
		h = append(h, 126, byte(n>>8), byte(n))
	default:
		h = append(h, 127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	_, err := c.conn.Write(append(h, p...))
	return err
}

// readLoop answers pings and closes until the connection ends, ignoring
// data messages; done is closed when it returns.
func (c *wsConn) readLoop(done chan<- struct{}) {
	defer close(done)
	for {
		op, p, err := c.readFrame()
		if err != nil {
			return
		}
		switch op {
		case wsPing:
			_ = c.writeFrame(wsPong, p)
		case wsClose:
			_ = c.writeFrame(wsClose, p)
			return
		}
	}
}

// close sends a close frame with code and reason and closes the socket.
func (c *wsConn) close(code uint16, reason string) {
	_ = c.writeFrame(wsClose, append(binary.BigEndian.AppendUint16(nil, code), reason...))
	c.conn.Close()
}
