package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/internal/testenv"
)

// BenchmarkNoChangeRedeploy times `moltctl deploy --yes` of
// examples/moltworker when nothing changed since the last deploy, and
// reports the API and registry requests it sends (requests/op).
func BenchmarkNoChangeRedeploy(b *testing.B) {
	testenv.RequireDocker(b)
	log := &testenv.RequestLog{}
	srv := cfemu.New(cfemu.Options{ColdStart: 50 * time.Millisecond, Log: log}).Start()
	defer srv.Close()
	dir := testenv.CopyExample(b)
	if r := deployOnceTB(context.Background(), b, srv, dir, nil, nil); r.err != nil {
		b.Fatalf("first deploy: %v\n%s", r.err, r.stderr)
	}
	start := len(log.Lines())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := deployOnceTB(context.Background(), b, srv, dir, nil, nil); r.err != nil {
			b.Fatalf("redeploy: %v", r.err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(log.Lines())-start)/float64(b.N), "requests/op")
}
