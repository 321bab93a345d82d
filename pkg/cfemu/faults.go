package cfemu

import (
	"bufio"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
)

// Fault kinds.
const (
	Fault429  = "429"
	Fault500  = "500"
	Fault502  = "502"
	Fault503  = "503"
	FaultDrop = "drop" // the connection is closed without a response
)

// AllFaultKinds is every kind --fault-kinds accepts.
var AllFaultKinds = []string{Fault429, Fault500, Fault502, Fault503, FaultDrop}

// FaultOptions choose which requests fail. Requests to the emulator's own
// control endpoints (/__emulator/) never do.
type FaultOptions struct {
	// Rate is the fraction of requests that fail, 0 to 1.
	Rate float64
	// Kinds narrows the faults drawn; all kinds when empty.
	Kinds []string
	// Seed makes the sequence of faults repeatable.
	Seed uint64
	// FailAt faults only these request numbers (1-based), with the first kind.
	FailAt []int64
}

type faultInjector struct {
	mu    sync.Mutex
	opts  FaultOptions
	rng   *rand.Rand
	kinds []string
}

func newFaultInjector(o FaultOptions) *faultInjector {
	kinds := o.Kinds
	if len(kinds) == 0 {
		kinds = AllFaultKinds
	}
	return &faultInjector{opts: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), kinds: kinds}
}

// SetFaults replaces the fault options while the server runs; request
// numbers keep counting from where they are.
func (s *Server) SetFaults(o FaultOptions) { s.faults.Store(newFaultInjector(o)) }

func validFaultKind(k string) bool {
	for _, v := range AllFaultKinds {
		if v == k {
			return true
		}
	}
	return false
}

// decide returns the fault for request number seq, or "".
func (f *faultInjector) decide(seq int64) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.opts.FailAt {
		if n == seq {
			return f.kinds[0]
		}
	}
	if f.opts.Rate > 0 && f.rng.Float64() < f.opts.Rate {
		return f.kinds[f.rng.IntN(len(f.kinds))]
	}
	return ""
}

func (s *Server) applyFault(w http.ResponseWriter, kind string) {
	switch kind {
	case Fault429:
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusTooManyRequests, 971, "Please wait and consider throttling your request speed")
	case Fault500:
		fail(w, http.StatusInternalServerError, 10002, "An unknown error has occurred")
	case Fault502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n"))
	case Fault503:
		fail(w, http.StatusServiceUnavailable, 10013, "Service temporarily unavailable")
	case FaultDrop:
		if conn, _, err := hijack(w); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, as a dropped connection looks to the client
			}
			conn.Close()
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}
}

type bufioReadWriter = bufio.ReadWriter

func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	if rec, ok := w.(*recorder); ok {
		w = rec.ResponseWriter
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	return hj.Hijack()
}
