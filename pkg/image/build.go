package image

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	dimage "github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// Engine is the part of the Docker Engine API client (*client.Client from
// dockerhost.Connect) that building and pushing use.
type Engine interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)
	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (dimage.InspectResponse, error)
	ImageList(ctx context.Context, options dimage.ListOptions) ([]dimage.Summary, error)
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
	ImageTag(ctx context.Context, source, target string) error
}

// LabelContentTag is the label every built image carries: its content tag.
// `moltctl push` finds the image `moltctl build` made by it.
const LabelContentTag = "dev.moltctl.content-tag"

// BuildRequest asks for an image to be built.
type BuildRequest struct {
	Spec Spec
	// Names are repositories to tag the image with (":<content tag>" is appended).
	Names []string
	// Rebuild builds even when a local image has the content tag.
	Rebuild bool
	// NoCache disables the daemon's build cache.
	NoCache  bool
	Progress Progress
}

// BuildResult is what Build made.
type BuildResult struct {
	Tag     string   `json:"tag"`
	ImageID string   `json:"image_id"`
	Refs    []string `json:"refs"`
	// Cached is true when a local image with the content tag was reused.
	Cached bool `json:"cached"`
	// ContextBytes is the size of the files sent to the daemon.
	ContextBytes int64 `json:"context_bytes"`
}

// BuildError is a failed build: the Dockerfile step that failed and its output.
type BuildError struct {
	// Step is "Step 3/7 : RUN npm ci" as the builder printed it ("" before any step).
	Step string
	// Output is the last lines the failing step printed.
	Output []string
	// Message is the builder's error.
	Message string
}

func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString("build failed")
	if e.Step != "" {
		fmt.Fprintf(&b, " at %s", e.Step)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	if len(e.Output) > 0 {
		b.WriteString("\n  output of the step:")
		for _, l := range e.Output {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// Hint says where to look.
func (e *BuildError) Hint() string {
	return "fix the Dockerfile step above (or the files it uses), then run `moltctl build` again"
}

// maxStepOutput is how many lines of a failing step's output BuildError keeps.
const maxStepOutput = 30

// FindLocal returns the ID of a local image labelled with the content tag, or "".
func FindLocal(ctx context.Context, engine Engine, tag string) (string, error) {
	imgs, err := engine.ImageList(ctx, dimage.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelContentTag+"="+tag))})
	if err != nil {
		return "", fmt.Errorf("list local images: %w", err)
	}
	if len(imgs) == 0 {
		return "", nil
	}
	return imgs[0].ID, nil
}

// Build builds spec through the Engine API's classic builder (the one
// builder the API runs without a client-side BuildKit session, available
// from Docker 20.10 to current daemons), tags it with each of Names and
// the content tag, and streams the builder's output to Progress. When a
// local image already has the content tag, it is reused (unless Rebuild).
func Build(ctx context.Context, engine Engine, req BuildRequest) (*BuildResult, error) {
	bc, err := readContext(req.Spec)
	if err != nil {
		return nil, err
	}
	tag, err := bc.tag()
	if err != nil {
		return nil, err
	}
	return build1(ctx, engine, bc, tag, req)
}

func build1(ctx context.Context, engine Engine, bc *buildContext, tag string, req BuildRequest) (*BuildResult, error) {
	res := &BuildResult{Tag: tag, ContextBytes: bc.size()}
	for _, n := range req.Names {
		res.Refs = append(res.Refs, n+":"+tag)
	}
	if !req.Rebuild {
		id, err := FindLocal(ctx, engine, tag)
		if err != nil {
			return nil, err
		}
		if id != "" {
			for _, r := range res.Refs {
				if err := engine.ImageTag(ctx, id, r); err != nil {
					return nil, fmt.Errorf("tag image %s: %w", r, err)
				}
			}
			res.ImageID, res.Cached = id, true
			req.Progress.emit(Event{Kind: EventLocalHit, ImageID: id, Tag: tag})
			return res, nil
		}
	}

	if note := bc.protectedNote(); note != "" {
		req.Progress.emit(Event{Kind: EventExcluded, Message: note})
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bc.writeTar(pw)) }()
	defer pr.Close()

	args := map[string]*string{}
	for k, v := range bc.spec.BuildArgs {
		args[k] = &v
	}
	// BuildKit sets these automatically; the classic builder does not.
	plat := bc.spec.platform()
	osName, arch, _ := strings.Cut(plat, "/")
	for k, v := range map[string]string{"TARGETPLATFORM": plat, "TARGETOS": osName, "TARGETARCH": arch} {
		if _, set := args[k]; !set && strings.Contains(string(bc.dockerfile), k) {
			args[k] = &v
		}
	}
	opts := build.ImageBuildOptions{
		Tags:        append(append([]string{}, res.Refs...), LocalRef(tag)),
		Dockerfile:  bc.dockerfileName,
		BuildArgs:   args,
		Platform:    plat,
		Version:     build.BuilderV1,
		Remove:      true,
		ForceRemove: true,
		NoCache:     req.NoCache,
		Labels:      map[string]string{LabelContentTag: tag},
	}
	resp, err := engine.ImageBuild(ctx, pr, opts)
	if err != nil {
		return nil, fmt.Errorf("start build: %w", err)
	}
	defer resp.Body.Close()
	id, err := readBuildStream(resp.Body, req.Progress)
	if err != nil {
		return nil, err
	}
	if id == "" {
		ins, err := engine.ImageInspect(ctx, LocalRef(tag))
		if err != nil {
			return nil, fmt.Errorf("inspect built image: %w", err)
		}
		id = ins.ID
	}
	res.ImageID = id
	req.Progress.emit(Event{Kind: EventBuilt, ImageID: id, Tag: tag})
	return res, nil
}

// LocalRef is the local name of an image by content tag alone.
func LocalRef(tag string) string { return "moltctl-build:" + tag }

// buildMessage is one JSON message of the Engine API's build stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Aux json.RawMessage `json:"aux"`
}

var (
	stepRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Step \d+/\d+ : `) })
	builtRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Successfully built ([0-9a-f]{12,64})$`) })
	noiseLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^ ---> |^Removing intermediate container |^Successfully tagged `)
	})
)

// readBuildStream reports the build stream as events and returns the
// image ID, or a *BuildError naming the failing step.
func readBuildStream(r io.Reader, p Progress) (string, error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	var step string
	var output []string
	var id string
	var partial string
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("read build output: %w", err)
		}
		if m.Error != "" || m.ErrorDetail != nil {
			msg := m.Error
			if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
				msg = m.ErrorDetail.Message
			}
			if partial != "" {
				output = append(output, partial)
			}
			return "", &BuildError{Step: step, Output: output, Message: strings.TrimSpace(msg)}
		}
		if len(m.Aux) > 0 {
			var aux struct {
				ID string `json:"ID"`
			}
			if json.Unmarshal(m.Aux, &aux) == nil && strings.HasPrefix(aux.ID, "sha256:") {
				id = aux.ID
			}
			continue
		}
		text := m.Stream
		if text == "" && m.Status != "" {
			text = strings.TrimSpace(m.ID+" "+m.Status) + "\n"
		}
		text = partial + text
		lines := strings.Split(text, "\n")
		partial = lines[len(lines)-1]
		for _, l := range lines[:len(lines)-1] {
			l = strings.TrimRight(l, "\r")
			switch {
			case stepRE().MatchString(l):
				step, output = l, nil
				p.emit(Event{Kind: EventBuildStep, Step: step, Message: l})
			case builtRE().MatchString(l):
				if id == "" {
					id = builtRE().FindStringSubmatch(l)[1]
				}
			case noiseLine().MatchString(l) || l == "":
			default:
				output = append(output, l)
				if len(output) > maxStepOutput {
					output = output[len(output)-maxStepOutput:]
				}
				p.emit(Event{Kind: EventBuildOutput, Step: step, Message: l})
			}
		}
	}
	return id, nil
}
