package main

import (
	"testing"
	"time"
)

func TestMedianAndSelected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !selected("", "image") || !selected("secrets, deploy", "deploy (no change)") || selected("secrets", "image") {
		t.Error("selected does not follow -only")
	}
}

func TestReqLogCountsAPIAndRegistry(t *testing.T) {
	t.Parallel()
	l := &reqLog{}
	lines := `{"method":"GET","path":"/client/v4/accounts","status":200,"bytes":0}
{"method":"PUT","path":"/client/v4/accounts/a/workers/scripts/x","status":200,"bytes":1200}
{"method":"DELETE","path":"/client/v4/accounts/a/r2/buckets/moltctl-lock-x","status":200,"bytes":0}
{"method":"PATCH","path":"/v2/a/app/blobs/uploads/1","status":202,"bytes":300}
{"method":"GET","host":"x.sub.workers.dev.localhost","path":"/api/status","status":200,"bytes":0}
{"method":"PUT","path":"/v2/a/app/manifests/t","sta`
	l.Write([]byte(lines))
	l.Write([]byte("tus\":201,\"bytes\":50}\n"))
	got := l.snapshot()
	want := traffic{Requests: 3, Bytes: 1200, RegRequests: 2, RegBytes: 350, WorkerRequest: 1, LeaseRequests: 1, seen: 5}
	if got != want {
		t.Errorf("traffic = %+v, want %+v", got, want)
	}
	if n := len(l.since(3)); n != 2 {
		t.Errorf("since(3) has %d requests, want the last 2", n)
	}
}

func TestRoundsCountsRequestsWaitedForInTurn(t *testing.T) {
	t.Parallel()
	lat := 50 * time.Millisecond
	t0 := time.Now()
	at := func(ms int) logged { return logged{done: t0.Add(time.Duration(ms) * time.Millisecond)} }
	for _, tc := range []struct {
		name string
		reqs []logged
		want int
	}{
		{"none", nil, 0},
		{"one", []logged{at(50)}, 1},
		{"three together", []logged{at(50), at(51), at(53)}, 1},
		{"in turn", []logged{at(50), at(101), at(153)}, 3},
		// the lease, then three reads together, then a write
		{"fan out", []logged{at(50), at(102), at(103), at(103), at(156)}, 3},
		{"out of order", []logged{at(156), at(50), at(103)}, 3},
	} {
		if got := rounds(tc.reqs, lat); got != tc.want {
			t.Errorf("%s: rounds = %d, want %d", tc.name, got, tc.want)
		}
	}
}
