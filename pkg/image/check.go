package image

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	dimage "github.com/docker/docker/api/types/image"
	"github.com/moltctl/moltctl/pkg/clierr"
	"github.com/moltctl/moltctl/pkg/internal/bytesize"
)

// InstanceType is a Cloudflare Containers instance type.
type InstanceType struct {
	Name      string  `json:"name"`
	VCPU      float64 `json:"vcpu"`
	MemoryMiB int64   `json:"memory_mib"`
	DiskMB    int64   `json:"disk_mb"`
}

// InstanceTypes are the named instance types (wrangler's
// cloudchamber/instance-type usage map; "dev" is the old name of "lite").
var InstanceTypes = map[string]InstanceType{
	"lite":       {"lite", 1.0 / 16, 256, 2000},
	"dev":        {"dev", 1.0 / 16, 256, 2000},
	"basic":      {"basic", 0.25, 1024, 4000},
	"standard":   {"standard", 0.5, 4096, 8000},
	"standard-1": {"standard-1", 0.5, 4096, 8000},
	"standard-2": {"standard-2", 1, 6144, 12000},
	"standard-3": {"standard-3", 2, 8192, 16000},
	"standard-4": {"standard-4", 4, 12288, 20000},
}

// DefaultInstanceType is wrangler's default when instance_type is not set.
const DefaultInstanceType = "lite"

// GatewayPort is the port moltworker's Worker connects to in the container.
const GatewayPort = 18789

// CheckOptions says what the image must fit.
type CheckOptions struct {
	// InstanceType from wrangler.jsonc (DefaultInstanceType when "").
	InstanceType string
	// DiskMB is a custom instance type's disk; it overrides InstanceType.
	DiskMB int64
	// Port the Worker expects the container to listen on (GatewayPort when 0, -1 to skip).
	Port int
	// Arch is the required architecture (amd64 when "").
	Arch string
}

// CheckReport is what the checks found.
type CheckReport struct {
	Size         int64    `json:"size"`
	Layers       int      `json:"layers"`
	RequiredDisk int64    `json:"required_disk"`
	InstanceType string   `json:"instance_type"`
	Disk         int64    `json:"disk"`
	OS           string   `json:"os"`
	Arch         string   `json:"arch"`
	Ports        []string `json:"ports"`
	Warnings     []string `json:"warnings,omitempty"`
}

// RequiredDisk is wrangler's rule: ceil(size*1.1 + layers*16 MiB) bytes.
func RequiredDisk(size int64, layers int) int64 {
	return int64(math.Ceil(float64(size)*1.1 + float64(layers)*16*1024*1024))
}

// CheckImage checks an inspected image before it is pushed: the
// architecture must be amd64 and the image must fit the instance type's
// disk (errors); the gateway port should be exposed (a warning).
func CheckImage(ins dimage.InspectResponse, opts CheckOptions) (*CheckReport, error) {
	it := opts.InstanceType
	if it == "" {
		it = DefaultInstanceType
	}
	arch := opts.Arch
	if arch == "" {
		arch = "amd64"
	}
	r := &CheckReport{Size: ins.Size, OS: ins.Os, Arch: ins.Architecture, InstanceType: it}
	if ins.RootFS.Layers != nil {
		r.Layers = len(ins.RootFS.Layers)
	}
	r.RequiredDisk = RequiredDisk(r.Size, r.Layers)
	if ins.Config != nil {
		for p := range ins.Config.ExposedPorts {
			r.Ports = append(r.Ports, p)
		}
		sort.Strings(r.Ports)
	}
	if r.Arch != arch || (r.OS != "" && r.OS != "linux") {
		return r, &clierr.HintError{
			Err: fmt.Errorf("image is %s/%s; Cloudflare Containers run only linux/%s", r.OS, r.Arch, arch),
			Fix: "build with --platform linux/amd64 (moltctl build does) and check the Dockerfile's FROM image has an amd64 variant"}
	}
	t, ok := InstanceTypes[it]
	if opts.DiskMB > 0 {
		t, ok = InstanceType{Name: "custom", DiskMB: opts.DiskMB}, true
		it, r.InstanceType = "custom", "custom"
	}
	if ok {
		r.Disk = t.DiskMB * 1000 * 1000
		if r.RequiredDisk > r.Disk {
			return r, &clierr.HintError{
				Err: fmt.Errorf("image needs %s of disk (%s in %d layers, plus overhead) but instance type %s has %s",
					bytesize.SI(r.RequiredDisk), bytesize.SI(r.Size), r.Layers, it, bytesize.SI(r.Disk)),
				Fix: "set a larger instance_type for the container in wrangler.jsonc (" + largerThan(r.RequiredDisk) + "), or make the image smaller"}
		}
	} else {
		r.Warnings = append(r.Warnings, fmt.Sprintf("unknown instance type %q: image size not checked (known: %s)", it, knownTypes()))
	}
	port := opts.Port
	if port == 0 {
		port = GatewayPort
	}
	if port > 0 {
		want := strconv.Itoa(port) + "/tcp"
		found := false
		for _, p := range r.Ports {
			if p == want || p == strconv.Itoa(port) {
				found = true
			}
		}
		if !found {
			exposed := "none"
			if len(r.Ports) > 0 {
				exposed = strings.Join(r.Ports, ", ")
			}
			r.Warnings = append(r.Warnings, fmt.Sprintf("image does not EXPOSE %d, the port the Worker connects to (exposed: %s)", port, exposed))
		}
	}
	return r, nil
}

func knownTypes() string {
	var names []string
	for n := range InstanceTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func largerThan(need int64) string {
	best := ""
	var bestDisk int64
	for n, t := range InstanceTypes {
		d := t.DiskMB * 1000 * 1000
		if d >= need && (best == "" || d < bestDisk || (d == bestDisk && n > best)) && n != "dev" && n != "standard" {
			best, bestDisk = n, d
		}
	}
	if best == "" {
		return "no instance type is large enough"
	}
	return "e.g. " + best
}
