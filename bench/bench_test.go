package main

import "testing"

func TestMedianAndSelected(t *testing.T) {
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
	l := &reqLog{}
	lines := `{"method":"GET","path":"/client/v4/accounts","status":200,"bytes":0}
{"method":"PUT","path":"/client/v4/accounts/a/workers/scripts/x","status":200,"bytes":1200}
{"method":"PATCH","path":"/v2/a/app/blobs/uploads/1","status":202,"bytes":300}
{"method":"GET","host":"x.sub.workers.dev.localhost","path":"/api/status","status":200,"bytes":0}
{"method":"PUT","path":"/v2/a/app/manifests/t","sta`
	l.Write([]byte(lines))
	l.Write([]byte("tus\":201,\"bytes\":50}\n"))
	got := l.snapshot()
	want := traffic{Requests: 2, Bytes: 1200, RegRequests: 2, RegBytes: 350, WorkerRequest: 1}
	if got != want {
		t.Errorf("traffic = %+v, want %+v", got, want)
	}
}
