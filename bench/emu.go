package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/moltctl/moltctl/pkg/cfemu"
)

// emu is one emulator started in this process with a request counter on
// its JSON-lines log, and the environment the measured CLIs run with.
type emu struct {
	srv  *cfemu.Server
	log  *reqLog
	home string
	env  []string
	c    config
}

func startEmu(c config) (*emu, error) {
	l := &reqLog{}
	srv := cfemu.New(cfemu.Options{Latency: c.latency, Log: l, ColdStart: 200 * time.Millisecond}).Start()
	home, err := os.MkdirTemp("", "moltctl-bench-home-")
	if err != nil {
		srv.Close()
		return nil, err
	}
	tmp := filepath.Join(home, "tmp")
	// A fresh update-check cache keeps wrangler from asking the npm registry.
	if err := os.MkdirAll(filepath.Join(tmp, "update-check"), 0o755); err != nil {
		return nil, err
	}
	cache := fmt.Sprintf(`{"latest":"4.164.0","lastUpdate":%d}`, time.Now().UnixMilli())
	_ = os.WriteFile(filepath.Join(tmp, "update-check", "wrangler-latest.json"), []byte(cache), 0o644)
	env := []string{
		"PATH=" + filepath.Dir(c.wrangler) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"TMPDIR=" + tmp,
		"CLOUDFLARE_API_BASE_URL=" + srv.APIURL(),
		"CLOUDFLARE_API_TOKEN=" + srv.Token(),
		"CLOUDFLARE_ACCOUNT_ID=" + srv.AccountID(),
		"CLOUDFLARE_CONTAINER_REGISTRY=" + srv.RegistryHost(),
		"MOLTCTL_WORKERS_DEV_URL=" + srv.WorkersDevURLTemplate(),
		"WRANGLER_SEND_METRICS=false",
		"DO_NOT_TRACK=1",
		"CI=true",
		"NO_COLOR=1",
		"FORCE_COLOR=0",
	}
	for _, k := range []string{"DOCKER_HOST", "DOCKER_CONTEXT"} {
		if v := os.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if dir, err := os.UserCacheDir(); err == nil {
		env = append(env, "NODE_COMPILE_CACHE="+filepath.Join(dir, "moltctl", "node-compile-cache"))
	}
	return &emu{srv: srv, log: l, home: home, env: env, c: c}, nil
}

func (e *emu) Close() {
	e.srv.Close()
	os.RemoveAll(e.home)
}

// run runs name with args in dir, stdin and extra environment, and returns
// its wall time and the API traffic it caused. A failure carries the last
// lines of its output.
func (e *emu) run(dir, stdin string, extra []string, name string, args ...string) (time.Duration, traffic, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, e.env...), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := e.log.snapshot()
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	t := e.log.snapshot().sub(before)
	t.PeakMiB = peakMiB(cmd.ProcessState)
	t.Rounds = rounds(e.log.since(before.seen), e.c.latency)
	if err != nil {
		return d, t, stdout.Bytes(), fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(stdout.String()+stderr.String(), 25))
	}
	return d, t, stdout.Bytes(), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// traffic is what the emulator saw: API requests (registry excluded) and
// the bytes clients sent, and the registry's share.
type traffic struct {
	Requests      int   // API requests (not /v2/)
	Bytes         int64 // request bytes sent to the API
	RegRequests   int   // registry (/v2/) requests
	RegBytes      int64 // request bytes sent to the registry (pushed)
	WorkerRequest int   // requests to deployed Workers (not counted above)
	// LeaseRequests counts the requests that name the deploy lease's R2
	// bucket (pkg/lease); the POST that creates it names none and is not
	// among them.
	LeaseRequests int
	seen          int // API and registry requests logged so far (for reqLog.since)
	// PeakMiB is the peak resident memory of the command that was run (its
	// largest process, as the kernel accounts it), set by emu.run.
	PeakMiB float64
	// Rounds is how many round trips the command waited for one after
	// another (see rounds), set by emu.run.
	Rounds int
}

func (a traffic) sub(b traffic) traffic {
	return traffic{Requests: a.Requests - b.Requests, Bytes: a.Bytes - b.Bytes, RegRequests: a.RegRequests - b.RegRequests,
		RegBytes: a.RegBytes - b.RegBytes, WorkerRequest: a.WorkerRequest - b.WorkerRequest,
		LeaseRequests: a.LeaseRequests - b.LeaseRequests, seen: a.seen - b.seen}
}

// leaseBucketPrefix starts the name of every deploy lease's bucket (lease.BucketName).
const leaseBucketPrefix = "moltctl-lock-"

// logged is one API or registry request of the log: when its answer left.
type logged struct {
	method, path string
	done         time.Time
}

// rounds is the longest chain of requests among reqs of which each was
// sent only after the one before it was answered: the round trips the
// command waited for in turn. The emulator holds every request for the
// injected latency before it answers, so a request answered at t was sent
// at t - latency at the latest; two requests in flight together end within
// a few milliseconds of each other.
func rounds(reqs []logged, latency time.Duration) int {
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].done.Before(reqs[j].done) })
	depth := make([]int, len(reqs))
	longest := 0
	for i, r := range reqs {
		depth[i] = 1
		sent := r.done.Add(-latency * 8 / 10)
		for j := 0; j < i; j++ {
			if !reqs[j].done.After(sent) && depth[j]+1 > depth[i] {
				depth[i] = depth[j] + 1
			}
		}
		longest = max(longest, depth[i])
	}
	return longest
}

// reqLog counts the emulator's JSON-lines request log as it is written.
type reqLog struct {
	mu      sync.Mutex
	buf     []byte
	t       traffic
	entries []logged // API and registry requests, in log order
}

// since returns the API and registry requests logged after the first n.
func (l *reqLog) since(n int) []logged {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logged(nil), l.entries[min(n, len(l.entries)):]...)
}

func (l *reqLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		var e struct {
			Time   time.Time `json:"time"`
			Method string    `json:"method"`
			Host   string    `json:"host"`
			Path   string    `json:"path"`
			Status int       `json:"status"`
			Bytes  int64     `json:"bytes"`
		}
		if json.Unmarshal(l.buf[:i], &e) == nil {
			switch {
			case strings.HasPrefix(e.Path, "/v2/") || e.Path == "/v2":
				l.t.RegRequests++
				l.t.RegBytes += e.Bytes
			case strings.Contains(e.Host, "workers.dev"):
				l.t.WorkerRequest++
			default:
				l.t.Requests++
				l.t.Bytes += e.Bytes
				if strings.Contains(e.Path, "/r2/buckets/"+leaseBucketPrefix) {
					l.t.LeaseRequests++
				}
			}
			if !strings.Contains(e.Host, "workers.dev") {
				l.entries = append(l.entries, logged{method: e.Method, path: e.Path, done: e.Time})
				l.t.seen = len(l.entries)
			}
		}
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *reqLog) snapshot() traffic {
	// Log lines are written after the response; give the last one a moment.
	time.Sleep(20 * time.Millisecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.t
}

// copyProject copies examples/moltworker (without .moltctl state) into a
// new temporary directory.
func copyProject(c config) (string, error) {
	dst, err := os.MkdirTemp("", "moltctl-bench-project-")
	if err != nil {
		return "", err
	}
	src := filepath.Join(c.repo, "examples", "moltworker")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && (d.Name() == ".moltctl" || d.Name() == ".wrangler" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		info, _ := d.Info()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	return dst, err
}

// appendFile adds a line to a file of the project (a one-file change).
func appendFile(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
