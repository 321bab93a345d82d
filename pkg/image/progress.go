package image

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/internal/bytesize"
)

// Event kinds reported to a Progress.
const (
	EventTag         = "tag"              // the content tag was computed (Tag)
	EventRemoteHit   = "remote-exists"    // the registry has the tag: nothing to build or push (Ref, Digest)
	EventLocalHit    = "local-exists"     // a local image has the content tag: no build (ImageID)
	EventBuildStep   = "build-step"       // a Dockerfile step started (Step, Message)
	EventBuildOutput = "build-output"     // a line of build output (Step, Message)
	EventBuilt       = "built"            // the build finished (ImageID)
	EventWarning     = "warning"          // an image check warns (Message)
	EventExcluded    = "context-excluded" // files that can hold credentials were left out of the build context (Message)
	EventLayerStart  = "layer-start"      // a layer upload started (Layer, Total)
	EventLayerBytes  = "layer-bytes"      // bytes of a layer were sent (Layer, Bytes, Total, BytesPerSec)
	EventLayerDone   = "layer-done"       // a layer was uploaded (Layer, Bytes, BytesPerSec)
	EventLayerExists = "layer-exists"     // the registry has the layer: not sent (Layer, Total)
	EventRetry       = "retry"            // a transient failure, retrying (Layer, Message)
	EventPushed      = "pushed"           // the manifest was written (Ref, Digest, Bytes)
)

// Event is one step of a build or push. Under --output json each is one
// line of JSON on stderr; field names are a contract.
type Event struct {
	Time        time.Time `json:"time"`
	Kind        string    `json:"kind"`
	Message     string    `json:"message,omitempty"`
	Step        string    `json:"step,omitempty"`
	Tag         string    `json:"tag,omitempty"`
	Ref         string    `json:"ref,omitempty"`
	Digest      string    `json:"digest,omitempty"`
	ImageID     string    `json:"image_id,omitempty"`
	Layer       string    `json:"layer,omitempty"`
	Bytes       int64     `json:"bytes,omitempty"`
	Total       int64     `json:"total,omitempty"`
	BytesPerSec float64   `json:"bytes_per_sec,omitempty"`
}

// Progress receives events; it may be called from several goroutines at once
// and must not block for long. A nil Progress discards events.
type Progress func(Event)

func (p Progress) emit(e Event) {
	if p == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	p(e)
}

// JSONProgress writes each event as one line of JSON to w.
func JSONProgress(w io.Writer) Progress {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		_ = enc.Encode(e)
	}
}

// TextProgress renders events for people: the same lines with or without
// a terminal. Byte counts (EventLayerBytes) print nothing: they are live
// progress, for a spinner (see LayerBytesLabel). Build output is printed
// indented under its step when verbose, else only the steps.
func TextProgress(w io.Writer, verbose bool) Progress {
	var mu sync.Mutex
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case EventTag:
			fmt.Fprintf(w, "Content tag %s\n", e.Tag)
		case EventRemoteHit:
			fmt.Fprintf(w, "✓ %s is already in the registry: nothing to build or push\n", e.Ref)
		case EventLocalHit:
			fmt.Fprintf(w, "✓ Local image %s has the same inputs: not rebuilding\n", ShortID(e.ImageID))
		case EventBuildStep:
			fmt.Fprintf(w, "%s\n", e.Message)
		case EventBuildOutput:
			if verbose {
				fmt.Fprintf(w, "    %s\n", e.Message)
			}
		case EventBuilt:
			fmt.Fprintf(w, "✓ Built %s\n", ShortID(e.ImageID))
		case EventWarning:
			fmt.Fprintf(w, "! %s\n", e.Message)
		case EventExcluded:
			fmt.Fprintf(w, "Note: %s\n", e.Message)
		case EventLayerStart:
			fmt.Fprintf(w, "  %s  pushing %s\n", e.Layer, bytesize.SI(e.Total))
		case EventLayerDone:
			fmt.Fprintf(w, "  %s  pushed %s (%s/s)\n", e.Layer, bytesize.SI(e.Bytes), bytesize.SI(int64(e.BytesPerSec)))
		case EventLayerExists:
			fmt.Fprintf(w, "  %s  already in the registry\n", e.Layer)
		case EventRetry:
			fmt.Fprintf(w, "  %s  %s\n", e.Layer, e.Message)
		case EventPushed:
			fmt.Fprintf(w, "✓ Manifest written: %s (%s sent in all)\n", e.Digest, bytesize.SI(e.Bytes))
		}
	}
}

// LayerBytesLabel is a spinner's label for an EventLayerBytes.
func LayerBytesLabel(e Event) string {
	return fmt.Sprintf("%s  %s / %s  %s/s", e.Layer, bytesize.SI(e.Bytes), bytesize.SI(e.Total), bytesize.SI(int64(e.BytesPerSec)))
}

// ShortID shortens "sha256:abcdef…" to 12 hex digits.
func ShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
