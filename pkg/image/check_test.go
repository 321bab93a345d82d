package image

import (
	"strings"
	"testing"

	dimage "github.com/docker/docker/api/types/image"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func inspect(arch string, size int64, layers int, ports ...string) dimage.InspectResponse {
	ins := dimage.InspectResponse{Architecture: arch, Os: "linux", Size: size,
		RootFS: dimage.RootFS{Type: "layers", Layers: make([]string, layers)},
		Config: &dockerspec.DockerOCIImageConfig{ImageConfig: ocispec.ImageConfig{ExposedPorts: map[string]struct{}{}}}}
	for _, p := range ports {
		ins.Config.ExposedPorts[p] = struct{}{}
	}
	return ins
}

func TestCheckImage(t *testing.T) {
	t.Parallel()
	const gb = 1000 * 1000 * 1000
	tests := []struct {
		name     string
		ins      dimage.InspectResponse
		opts     CheckOptions
		wantErr  string
		wantWarn string
	}{
		{name: "moltworker on standard-1", ins: inspect("amd64", 2*gb, 20, "18789/tcp"), opts: CheckOptions{InstanceType: "standard-1"}},
		{name: "arm64 image", ins: inspect("arm64", 1000, 1, "18789/tcp"), wantErr: "only linux/amd64"},
		{name: "too big for lite", ins: inspect("amd64", 2*gb, 20, "18789/tcp"), opts: CheckOptions{InstanceType: "lite"}, wantErr: "instance type lite has 2.0 GB"},
		// 7.2 GB * 1.1 = 7.92 GB, + 10 layers * 16 MiB > 8 GB.
		{name: "just over standard-1 with the layer overhead", ins: inspect("amd64", 7_200_000_000, 10, "18789/tcp"), opts: CheckOptions{InstanceType: "standard-1"}, wantErr: "e.g. standard-2"},
		{name: "port not exposed", ins: inspect("amd64", 1000, 1, "8080/tcp"), wantWarn: "does not EXPOSE 18789"},
		{name: "port check off", ins: inspect("amd64", 1000, 1), opts: CheckOptions{Port: -1}},
		{name: "unknown instance type", ins: inspect("amd64", 1000, 1, "18789/tcp"), opts: CheckOptions{InstanceType: "huge"}, wantWarn: `unknown instance type "huge"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := CheckImage(tt.ins, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+" "+hintOf(err), tt.wantErr) {
					t.Fatalf("err = %v (%s), want %q", err, hintOf(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(r.Warnings, "; ")
			if (tt.wantWarn == "") != (got == "") || !strings.Contains(got, tt.wantWarn) {
				t.Errorf("warnings %q, want %q", got, tt.wantWarn)
			}
		})
	}
	if got := RequiredDisk(1000, 2); got != 1100+32*1024*1024 {
		t.Errorf("RequiredDisk = %d", got)
	}
}

func hintOf(err error) string {
	if h, ok := err.(interface{ Hint() string }); ok {
		return h.Hint()
	}
	return ""
}
