package image

import (
	"context"
	"testing"
)

// Benchmarks of the image step against the real Docker Engine and a
// registry on 127.0.0.1 (go-containerregistry's). Each reports
// bytes_pushed/op; compare:
//
//	BenchmarkImageFirstPush      build + push of a new image (all layers)
//	BenchmarkImageUnchanged      the same sources again: registry check only, 0 bytes
//	BenchmarkImageOneFileChange  one small file edited: only its layer is sent
//	                             (image_bytes/op is the full image for comparison)
//
// go test ./pkg/image -run '^$' -bench Image -benchtime 5x

// benchApp is a FROM scratch image of four layers: three of 256 KB and a small one.
func benchApp(b *testing.B) string {
	dir := b.TempDir()
	writeTree(b, dir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY l1.bin /l1\nCOPY l2.bin /l2\nCOPY l3.bin /l3\nCOPY conf.txt /conf.txt\nEXPOSE 18789\n",
		"l1.bin":     randomText(256 << 10),
		"l2.bin":     randomText(256 << 10),
		"l3.bin":     randomText(256 << 10),
		"conf.txt":   "v0 " + nonce(),
	})
	return dir
}

func benchPush(b *testing.B, reg *testRegistry, dir string) *Result {
	b.Helper()
	c := docker(b)
	res, err := BuildAndPush(context.Background(), c, Request{Spec: Spec{ContextDir: dir, Dockerfile: "Dockerfile"},
		Repository: Repository(reg.host(), "acc", "bench"), Auth: Auth{reg.user, reg.pass}})
	if err != nil {
		b.Fatal(err)
	}
	if !res.Skipped {
		removeImages(b, c, res.Ref, LocalRef(res.Tag))
	}
	return res
}

func report(b *testing.B, pushed, image int64) {
	b.ReportMetric(float64(pushed)/float64(b.N), "bytes_pushed/op")
	if image > 0 {
		b.ReportMetric(float64(image)/float64(b.N), "image_bytes/op")
	}
}

func BenchmarkImageFirstPush(b *testing.B) {
	var pushed, full int64
	for b.Loop() {
		b.StopTimer()
		reg := newTestRegistry(b)
		dir := benchApp(b)
		b.StartTimer()
		res := benchPush(b, reg, dir)
		pushed += res.BytesPushed
		full += res.ImageBytes
	}
	report(b, pushed, full)
}

func BenchmarkImageUnchanged(b *testing.B) {
	reg := newTestRegistry(b)
	dir := benchApp(b)
	benchPush(b, reg, dir)
	var pushed int64
	for b.Loop() {
		res := benchPush(b, reg, dir)
		if !res.Skipped {
			b.Fatalf("unchanged sources were pushed: %+v", res)
		}
		pushed += res.BytesPushed
	}
	report(b, pushed, 0)
}

func BenchmarkImageOneFileChange(b *testing.B) {
	reg := newTestRegistry(b)
	dir := benchApp(b)
	benchPush(b, reg, dir)
	var pushed, full int64
	for b.Loop() {
		b.StopTimer()
		writeTree(b, dir, map[string]string{"conf.txt": "changed " + nonce()})
		b.StartTimer()
		res := benchPush(b, reg, dir)
		if res.Skipped || res.LayersPushed != 1 {
			b.Fatalf("one file changed: %+v", res)
		}
		pushed += res.BytesPushed
		full += res.ImageBytes
	}
	report(b, pushed, full)
}
