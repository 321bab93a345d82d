package preflight

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/manifest"
	"github.com/moltctl/moltctl/pkg/wrangler"
)

type upDocker struct{}

func (upDocker) Probe(context.Context) (*DockerInfo, error) {
	return &DockerInfo{Host: "unix:///var/run/docker.sock", ServerVersion: "28.5.2", APIVersion: "1.51", OSType: "linux",
		Architecture: "x86_64", CanBuildAMD64: true, FreeBytes: 50 << 30}, nil
}
func (upDocker) Advice(error) string { return "" }

// BenchmarkDoctor runs the standard checks against the emulator with 50 ms
// of latency on every API request, concurrently (as doctor does) and one
// after another. x-latency is the run's time over the injected latency:
// concurrent stays near the longest dependency chain (about 2), sequential
// grows with the number of requests.
func BenchmarkDoctor(b *testing.B) {
	const latency = 50 * time.Millisecond
	srv := cfemu.New(cfemu.Options{Latency: latency}).Start()
	defer srv.Close()
	dir := b.TempDir()
	cfgText := `{"name": "moltbot-sandbox", "main": "src/index.ts",
	  "containers": [{"class_name": "Sandbox", "image": "./Dockerfile"}],
	  "r2_buckets": [{"binding": "MOLTBOT_BUCKET", "bucket_name": "moltbot-data"}]}`
	for name, body := range map[string]string{"wrangler.jsonc": cfgText, "Dockerfile": "FROM scratch\nCOPY start.sh /start.sh\n",
		"start.sh": "#!/bin/sh\n", "src/index.ts": "export default {}\n"} {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := wrangler.Load(filepath.Join(dir, "wrangler.jsonc"), "")
	if err != nil {
		b.Fatal(err)
	}
	api := cfapi.New(cfapi.Options{BaseURL: srv.APIURL(), Token: srv.Token()})
	newEnv := func() *Env {
		return &Env{API: api, AccountID: srv.AccountID(), Config: cfg, Docker: upDocker{},
			Manifest: &manifest.Manifest{Path: filepath.Join(dir, "moltctl.yaml"), Secrets: []manifest.Secret{
				{Name: "MOLTBOT_GATEWAY_TOKEN", Source: manifest.Source{Kind: "generate"}}, {Name: "ANTHROPIC_API_KEY", Source: manifest.Source{Kind: "env"}}}}}
	}
	for _, mode := range []struct {
		name       string
		sequential bool
	}{{"concurrent", false}, {"sequential", true}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				rep := RunWith(context.Background(), Standard(), newEnv(), Options{Sequential: mode.sequential})
				if rep.Count(StatusFail) > 0 {
					for _, c := range rep.Checks {
						if c.Status == StatusFail {
							b.Fatalf("%s failed: %s", c.ID, c.Message)
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(latency.Nanoseconds()), "x-latency")
		})
	}
}
