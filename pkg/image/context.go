package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// DefaultPlatform is the only platform Cloudflare Containers run.
const DefaultPlatform = "linux/amd64"

// Spec names the inputs of an image build.
type Spec struct {
	// ContextDir is the build context directory.
	ContextDir string
	// Dockerfile is the Dockerfile's path (absolute, or relative to ContextDir).
	Dockerfile string
	// BuildArgs are passed as --build-arg (wrangler's image_vars).
	BuildArgs map[string]string
	// Platform defaults to linux/amd64.
	Platform string
	// Exclude are more files never sent to the daemon, whatever
	// .dockerignore says: absolute paths, or relative to ContextDir
	// (moltctl.yaml's dotenv and file sources; see SecretFiles).
	Exclude []string
}

func (s Spec) platform() string {
	if s.Platform == "" {
		return DefaultPlatform
	}
	return s.Platform
}

func (s Spec) dockerfilePath() string {
	if filepath.IsAbs(s.Dockerfile) {
		return s.Dockerfile
	}
	if s.Dockerfile == "" {
		return filepath.Join(s.ContextDir, "Dockerfile")
	}
	return filepath.Join(s.ContextDir, s.Dockerfile)
}

// epoch is the modification time of every file in the build context sent
// to the daemon, so that the same files give the same layers anywhere.
var epoch = time.Unix(0, 0).UTC()

// entry is one file of the build context after .dockerignore.
type entry struct {
	rel  string // slash-separated path in the context
	abs  string
	mode fs.FileMode // type bits and the normalised permission
	link string
	size int64
}

// buildContext is the filtered, sorted list of context files and where
// the Dockerfile sits in the archive.
type buildContext struct {
	spec       Spec
	entries    []entry
	dockerfile []byte
	// dockerfileName is the Dockerfile's path inside the archive.
	dockerfileName string
	// extraDockerfile is true when the Dockerfile lies outside the context and is added to the archive.
	extraDockerfile bool
	// protected are the context paths left out because they can hold
	// credentials (see protectedPath), for the one line the build prints.
	protected []string
}

// extraDockerfileName is where a Dockerfile from outside the context is put in the archive.
const extraDockerfileName = ".moltctl.Dockerfile"

// readContext walks the context directory honouring .dockerignore as the
// docker CLI does (the Dockerfile and .dockerignore are always sent).
func readContext(spec Spec) (*buildContext, error) {
	if spec.ContextDir == "" {
		return nil, errors.New("no build context directory")
	}
	dir, err := filepath.Abs(spec.ContextDir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", dir)
	}
	dfPath, err := filepath.Abs(spec.dockerfilePath())
	if err != nil {
		return nil, err
	}
	df, err := os.ReadFile(dfPath)
	if err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	bc := &buildContext{spec: spec, dockerfile: df}
	if rel, err := filepath.Rel(dir, dfPath); err == nil && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != ".." {
		bc.dockerfileName = filepath.ToSlash(rel)
	} else {
		bc.dockerfileName, bc.extraDockerfile = extraDockerfileName, true
	}

	var patterns []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read .dockerignore: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	// As the docker CLI: the Dockerfile and .dockerignore are always sent.
	if len(patterns) > 0 {
		patterns = append(patterns, "!.dockerignore")
		if !bc.extraDockerfile {
			patterns = append(patterns, "!"+bc.dockerfileName)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("read .dockerignore: %w", err)
	}
	exclude := map[string]bool{}
	for _, x := range spec.Exclude {
		if !filepath.IsAbs(x) {
			x = filepath.Join(dir, x)
		}
		exclude[filepath.Clean(x)] = true
	}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read build context: %w", err)
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		// Before .dockerignore: no pattern, not even a "!" re-include, can
		// put these in an image that is then pushed to a registry.
		if protectedPath(rel) || exclude[p] {
			if d.IsDir() {
				bc.protected = append(bc.protected, rel+"/")
				return filepath.SkipDir
			}
			bc.protected = append(bc.protected, rel)
			return nil
		}
		if len(patterns) > 0 {
			skip, err := pm.MatchesOrParentMatches(rel)
			if err != nil {
				return fmt.Errorf(".dockerignore: %w", err)
			}
			if skip {
				if d.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("read build context: %w", err)
		}
		e := entry{rel: rel, abs: p}
		switch {
		case info.Mode().IsDir():
			e.mode = fs.ModeDir | 0o755
		case info.Mode()&fs.ModeSymlink != 0:
			e.mode = fs.ModeSymlink | 0o777
			if e.link, err = os.Readlink(p); err != nil {
				return fmt.Errorf("read build context: %w", err)
			}
			e.link = filepath.ToSlash(e.link)
		case info.Mode().IsRegular():
			// Only the executable bit survives: umasks differ between checkouts.
			e.mode = 0o644
			if info.Mode()&0o111 != 0 {
				e.mode = 0o755
			}
			e.size = info.Size()
		default:
			return nil // sockets, devices: never part of a build
		}
		bc.entries = append(bc.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(bc.entries, func(i, j int) bool { return bc.entries[i].rel < bc.entries[j].rel })
	return bc, nil
}

// protectedPath reports whether a context path (slash-separated) is one
// that holds credentials in a moltworker checkout, at any depth: moltctl's
// state (.moltctl/: generated tokens, the Access service-token secret, R2
// keys, imported values), the git directory (remotes with tokens, history
// of removed secrets), and dotenv files (.env*, .dev.vars*: wrangler's
// local secrets).
func protectedPath(rel string) bool {
	parts := strings.Split(rel, "/")
	for _, p := range parts[:len(parts)-1] {
		if p == ".moltctl" || p == ".git" {
			return true
		}
	}
	base := parts[len(parts)-1]
	return base == ".moltctl" || base == ".git" || strings.HasPrefix(base, ".env") || strings.HasPrefix(base, ".dev.vars")
}

// protectedNote is the line the build prints about protected paths, or "".
func (bc *buildContext) protectedNote() string {
	if len(bc.protected) == 0 {
		return ""
	}
	list := bc.protected
	if len(list) > 5 {
		list = append(append([]string{}, list[:5]...), fmt.Sprintf("and %d more", len(bc.protected)-5))
	}
	return "left out of the build context, whatever .dockerignore says (they can hold credentials): " + strings.Join(list, ", ")
}

// tagVersion changes when the way tags are derived changes.
const tagVersion = "moltctl-image-tag-v1"

// TagLength is the number of hex digits of a content tag.
const TagLength = 24

// ContentTag returns the tag derived from the build inputs: the
// Dockerfile, the context files after .dockerignore (path, type,
// executable bit, content), the build args and the platform. The same
// inputs give the same tag on any machine; file times, owners and umask
// do not count.
func ContentTag(spec Spec) (string, error) {
	bc, err := readContext(spec)
	if err != nil {
		return "", err
	}
	return bc.tag()
}

func (bc *buildContext) tag() (string, error) {
	h := sha256.New()
	field := func(h hash.Hash, s string) { fmt.Fprintf(h, "%d:%s\n", len(s), s) }
	field(h, tagVersion)
	field(h, "platform="+bc.spec.platform())
	field(h, "dockerfile="+bc.dockerfileName)
	field(h, string(bc.dockerfile))
	keys := make([]string, 0, len(bc.spec.BuildArgs))
	for k := range bc.spec.BuildArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(h, "arg "+k+"="+bc.spec.BuildArgs[k])
	}
	for _, e := range bc.entries {
		switch {
		case e.mode.IsDir():
			field(h, "dir "+e.rel)
		case e.mode&fs.ModeSymlink != 0:
			field(h, "link "+e.rel+" -> "+e.link)
		default:
			sum, err := fileSum(e.abs)
			if err != nil {
				return "", err
			}
			field(h, fmt.Sprintf("file %s %o %s", e.rel, e.mode.Perm(), sum))
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:TagLength], nil
}

func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("read build context: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read build context: %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeTar writes the build context as the archive the Engine API takes,
// with fixed times and owners so identical files give identical layers.
func (bc *buildContext) writeTar(w io.Writer) error {
	tw := tar.NewWriter(w)
	for _, e := range bc.entries {
		hdr := &tar.Header{Name: e.rel, Mode: int64(e.mode.Perm()), ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, e.rel+"/"
		case e.mode&fs.ModeSymlink != 0:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		default:
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(e.abs)
		if err != nil {
			return fmt.Errorf("read build context: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		hdr.Size = st.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			f.Close()
			return err
		}
		_, err = io.CopyN(tw, f, hdr.Size)
		f.Close()
		if err != nil {
			return fmt.Errorf("read build context: %s: %w", e.rel, err)
		}
	}
	if bc.extraDockerfile {
		hdr := &tar.Header{Name: extraDockerfileName, Mode: 0o644, ModTime: epoch, Size: int64(len(bc.dockerfile)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, bytes.NewReader(bc.dockerfile)); err != nil {
			return err
		}
	}
	return tw.Close()
}

// size is the total size of the context files.
func (bc *buildContext) size() int64 {
	var n int64
	for _, e := range bc.entries {
		n += e.size
	}
	return n
}
