package cmdutil

import (
	"regexp"
	"strings"
	"testing"

	"github.com/moltctl/moltctl/pkg/image"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// spinnerFrame matches what the spinner draws (a frame, then the clearing).
var spinnerFrame = regexp.MustCompile("\r\x1b\\[K(?:[\u2800-\u28ff] [^\r]*)?")

func TestImageProgressSameLinesWithOrWithoutATerminal(t *testing.T) {
	t.Parallel()
	events := []image.Event{
		{Kind: image.EventTag, Tag: "registry.example/app:abc"},
		{Kind: image.EventLayerStart, Layer: "sha256:1111", Total: 2_000_000},
		{Kind: image.EventLayerBytes, Layer: "sha256:1111", Bytes: 1_000_000, Total: 2_000_000, BytesPerSec: 500_000},
		{Kind: image.EventLayerDone, Layer: "sha256:1111", Bytes: 2_000_000, BytesPerSec: 500_000},
		{Kind: image.EventPushed, Digest: "sha256:2222", Bytes: 2_000_000},
	}
	run := func(tty bool) string {
		ios, _, _, errOut := iostreams.Test()
		ios.SetTTY(tty)
		f := &Factory{IOStreams: ios, Global: &GlobalOptions{}}
		p := f.ImageProgress()
		for _, e := range events {
			p(e)
		}
		ios.StopProgress()
		return errOut.String()
	}
	plain, tty := run(false), run(true)
	if !strings.Contains(tty, "1.0 MB / 2.0 MB") {
		t.Errorf("terminal output %q: want the bytes sent in the spinner", tty)
	}
	if got := spinnerFrame.ReplaceAllString(tty, ""); got != plain {
		t.Errorf("lines differ with a terminal:\n%q\nwithout:\n%q", got, plain)
	}
	if strings.Contains(plain, "1.0 MB /") || !strings.Contains(plain, "pushed 2.0 MB") {
		t.Errorf("without a terminal: %q; want the layer's start and end only", plain)
	}
}
