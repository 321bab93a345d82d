package testenv

import (
	"net"
	"testing"
)

// SilentServer listens on loopback, accepts every connection and never
// answers (a proxy or firewall that holds connections open), until the
// test ends. It returns the "127.0.0.1:PORT" address.
func SilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	Silent(t, ln)
	return ln.Addr().String()
}

// Silent accepts every connection on ln and never answers, until the test
// ends; for listeners other than loopback TCP (a Unix socket standing in
// for a Docker daemon that hangs).
func Silent(t testing.TB, ln net.Listener) {
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
}
