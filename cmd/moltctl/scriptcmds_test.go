package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/cfemu"
	"github.com/moltctl/moltctl/pkg/dockerhost"
	"github.com/moltctl/moltctl/pkg/image"
)

// emulator is a script's cfemu and the values that vary between runs.
type emulator struct {
	srv  *cfemu.Server
	port string
	log  requestLog
}

// requestLog keeps the emulator's request log for waitlog.
type requestLog struct {
	mu    sync.Mutex
	lines []string // "METHOD PATH STATUS"
}

func (l *requestLog) Write(p []byte) (int, error) {
	var e struct {
		Method, Path string
		Status       int
	}
	if err := json.Unmarshal(p, &e); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%s %s %d", e.Method, e.Path, e.Status))
	return len(p), nil
}

func (l *requestLog) match(re *regexp.Regexp) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// emulatorCmd starts cfemu for the rest of the script and points moltctl
// at it: `emulator [ready|new-account]`. It sets what moltctl reads
// (CLOUDFLARE_API_BASE_URL, CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID,
// CLOUDFLARE_CONTAINER_REGISTRY, MOLTCTL_WORKERS_DEV_URL) and, for the
// script, ACCOUNT_ID, PORT and CLOUDFLARE_API_TOKEN_REAL (the token, to
// restore after trying another).
func emulatorCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: emulator [ready|new-account]")
	}
	sc := state(ts)
	if sc.emu != nil {
		ts.Fatalf("emulator: already started")
	}
	scenario := cfemu.ScenarioReady
	if len(args) == 1 {
		scenario = args[0]
	}
	e := &emulator{}
	e.srv = cfemu.New(cfemu.Options{Scenario: scenario, ColdStart: 20 * time.Millisecond, Log: &e.log}).Start()
	srv := e.srv
	ts.Defer(srv.Close)
	u, err := url.Parse(srv.URL())
	ts.Check(err)
	e.port = u.Port()
	sc.emu = e
	ts.Setenv("CLOUDFLARE_API_BASE_URL", srv.APIURL())
	ts.Setenv("CLOUDFLARE_API_TOKEN", srv.Token())
	ts.Setenv("CLOUDFLARE_API_TOKEN_REAL", srv.Token())
	ts.Setenv("CLOUDFLARE_ACCOUNT_ID", srv.AccountID())
	ts.Setenv("CLOUDFLARE_CONTAINER_REGISTRY", srv.RegistryHost())
	ts.Setenv("MOLTCTL_WORKERS_DEV_URL", srv.WorkersDevURLTemplate())
	ts.Setenv("ACCOUNT_ID", srv.AccountID())
	ts.Setenv("PORT", sc.emu.port)
}

func mustEmulator(ts *testscript.TestScript, cmd string) *emulator {
	sc := state(ts)
	if sc.emu == nil {
		ts.Fatalf("%s: run `emulator` first", cmd)
	}
	return sc.emu
}

// waitlogCmd waits until the emulator has answered a request matching
// the regular expression, matched against "METHOD PATH STATUS": `waitlog
// 'POST .*/tails 200'`, for a command running in the background.
func waitlogCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitlog 'METHOD PATH STATUS regexp'")
	}
	e := mustEmulator(ts, "waitlog")
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	deadline := time.Now().Add(emulatorTimeout)
	for !e.log.match(re) {
		if time.Now().After(deadline) {
			ts.Fatalf("waitlog: no request matching %q within %s", args[0], emulatorTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sleepCmd pauses the script: `sleep 200ms`, to let a background
// command act after waitlog saw it start.
func sleepCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}

// imageCmd pushes a small image to the emulator's registry, as an earlier
// `moltctl push` or CI job would, and sets IMAGE to its reference:
// `image [repository:tag]` (default moltbot-sandbox-sandbox:acceptance,
// the example's container application). Scripts deploy it with
// --skip-build --image $IMAGE when the build is not what they test.
func imageCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: image [repository:tag]")
	}
	e := mustEmulator(ts, "image")
	repoTag := "moltbot-sandbox-sandbox:acceptance"
	if len(args) == 1 {
		repoTag = args[0]
	}
	ctx, cancel := context.WithTimeout(context.Background(), emulatorTimeout)
	defer cancel()
	api := cfapi.New(cfapi.Options{BaseURL: e.srv.APIURL(), Token: e.srv.Token(), AccountID: e.srv.AccountID()})
	auth, err := image.Login(ctx, api, e.srv.RegistryHost())
	ts.Check(err)
	img, err := random.Image(256, 1)
	ts.Check(err)
	ref := e.srv.RegistryHost() + "/" + e.srv.AccountID() + "/" + repoTag
	r, err := name.ParseReference(ref, name.Insecure)
	ts.Check(err)
	ts.Check(remote.Write(r, img, remote.WithContext(ctx), remote.WithAuth(&authn.Basic{Username: auth.Username, Password: auth.Password})))
	ts.Setenv("IMAGE", ref)
}

// deviceCmd makes a browser ask the deployed gateway to pair, as opening
// the Control UI does, and sets DEVICE to the request's id:
// `device [worker]` (default moltbot-sandbox).
func deviceCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: device [worker]")
	}
	e := mustEmulator(ts, "device")
	worker := "moltbot-sandbox"
	if len(args) == 1 {
		worker = args[0]
	}
	id, err := e.srv.AddPendingDevice(worker)
	ts.Check(err)
	ts.Setenv("DEVICE", id)
}

// exampleCmd copies examples/moltworker (without local state) into the
// current directory, or into dir: `example [dir]`. Files the script
// brings are overwritten; a script changes the copy after.
func exampleCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: example [dir]")
	}
	dst := ts.MkAbs(".")
	if len(args) == 1 {
		dst = ts.MkAbs(args[0])
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "moltworker"))
	ts.Check(err)
	ts.Check(filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if rel == ".moltctl" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	}))
}

var docker struct {
	once sync.Once
	host string
	err  error
}

// dockerAnswers is the [docker] condition: a Docker daemon answers the
// test process. With MOLTCTL_REQUIRE_DOCKER=1 (CI) a missing daemon is an
// error, so the Docker scripts cannot be skipped there unnoticed.
func dockerAnswers() (bool, error) {
	docker.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ep, err := dockerhost.Resolve(os.Getenv)
		if err != nil {
			docker.err = err
			return
		}
		c, err := dockerhost.ConnectEndpoint(ctx, ep)
		if err != nil {
			docker.err = err
			return
		}
		defer c.Close()
		if _, err := c.Ping(ctx); err != nil {
			docker.err = err
			return
		}
		docker.host = ep.Host
	})
	if docker.err != nil {
		if os.Getenv("MOLTCTL_REQUIRE_DOCKER") == "1" {
			return false, fmt.Errorf("MOLTCTL_REQUIRE_DOCKER is set but no Docker daemon answers (%v); run bash .ci/docker.sh", docker.err)
		}
		return false, nil
	}
	return true, nil
}

// dockerCmd points moltctl at the Docker daemon the test process uses:
// `docker`, after `[!docker] skip`.
func dockerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: docker")
	}
	if ok, err := dockerAnswers(); !ok {
		ts.Fatalf("docker: no Docker daemon answers (%v); guard the script with [!docker] skip", err)
	}
	ts.Setenv("DOCKER_HOST", docker.host)
}

// permCmd checks a file's permission bits, for files that hold secrets:
// `perm 0600 .moltctl/secrets.env`. Windows has no such bits; there it
// checks only that the file exists.
func permCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm MODE file")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	info, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := info.Mode().Perm(); runtime.GOOS != "windows" && got != fs.FileMode(want) {
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// exitsCmd runs a program that must fail with the exit code
// docs/exit-codes.md gives, keeping its output for stdout, stderr and
// cmpout: `exits 3 moltctl doctor`.
func exitsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want == 0 {
		ts.Fatalf("exits: CODE must be a non-zero number (use exec for success), not %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	var exit *exec.ExitError
	switch {
	case err == nil:
		ts.Fatalf("%s succeeded; want exit code %d", args[1], want)
	case !errors.As(err, &exit):
		ts.Fatalf("%s: %v", args[1], err)
	case exit.ExitCode() != want:
		ts.Fatalf("%s: exit code %d, want %d", args[1], exit.ExitCode(), want)
	}
}

// cmpoutCmd compares stdout, stderr or a file with a golden file of the
// script after normalising what changes from run to run (see normalise):
// `cmpout stdout want.txt`. The golden file's name is relative to $WORK. With -update a difference rewrites the golden
// file in the script instead of failing.
func cmpoutCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpout stdout|stderr|file golden")
	}
	sc := state(ts)
	got := sc.normalise(ts, ts.ReadFile(args[0]))
	// Golden files come with the script, so they are in $WORK wherever the script cd'd.
	want := ts.ReadFile(filepath.Join(ts.Getenv("WORK"), args[1]))
	if got == want {
		return
	}
	if *update {
		sc.mu.Lock()
		if sc.updates == nil {
			sc.updates = map[string]string{}
		}
		sc.updates[args[1]] = got
		sc.mu.Unlock()
		return
	}
	ts.Logf("%s", diff.Diff(args[1], []byte(want), args[0]+" (normalised)", []byte(got)))
	ts.Fatalf("%s and %s differ (go test -run TestScripts -update rewrites the golden file)", args[0], args[1])
}

// writeUpdates puts the golden files -update collected into the script.
func (sc *scriptState) writeUpdates() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.updates) == 0 {
		return nil
	}
	ar, err := txtar.ParseFile(sc.file)
	if err != nil {
		return err
	}
	for i, f := range ar.Files {
		if data, ok := sc.updates[f.Name]; ok {
			ar.Files[i].Data = []byte(data)
			delete(sc.updates, f.Name)
		}
	}
	for name := range sc.updates {
		return fmt.Errorf("-update: %s is not a file of %s", name, sc.file)
	}
	return os.WriteFile(sc.file, txtar.Format(ar), 0o644)
}

// scrubs replace, in order, what differs from run to run and from machine
// to machine with a stable name, so a golden file still reads like the
// real output.
var scrubs = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), "<uuid>"},
	// The emulator's other ids (tokens, applications) are random 32-digit hex.
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "<id>"},
	{regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`), "<time>"},
	// A step line of deploy and destroy: icon, name padded to 15, duration
	// padded to 7 ("<dur>" keeps the columns).
	{regexp.MustCompile(`(?m)^(\S \S+ +)\d[0-9.hmsµn]*s( +|$)`), "${1}<dur>   "},
	// The total in "Deployed moltbot-sandbox in 1.2s", the gateway's "running
	// after 100ms", status's "deployed 3s ago".
	{regexp.MustCompile(`(?m)( in )\d[0-9.hms]*s$`), "${1}<dur>"},
	{regexp.MustCompile(`\b(running|answered|answering) after \d[0-9.hmsµn]*s\b`), "$1 after <dur>"},
	{regexp.MustCompile(`\b\d+[smhd] ago\b`), "<dur> ago"},
	// Image digests and local image ids depend on the Docker engine that built them.
	{regexp.MustCompile(`\bsha256:[0-9a-f]{64}\b`), "sha256:<digest>"},
	{regexp.MustCompile(`\b(image) [0-9a-f]{12}\b`), "$1 <id>"},
	// An age key (ci setup prints one) and the gateway's process id are
	// new in each run. (A masked gateway token shows none of its digits.)
	{regexp.MustCompile(`\bAGE-SECRET-KEY-1[0-9A-Z]+`), "AGE-SECRET-KEY-1<key>"},
	{regexp.MustCompile(`\bproc_[0-9a-f]+\b`), "proc_<id>"},
	// JSON's timings, and digests keyed with a key made for each run.
	{regexp.MustCompile(`"(duration_ms|waited_seconds)": \d+(\.\d+)?`), `"$1": <n>`},
	{regexp.MustCompile(`\bhmac-sha256:[0-9a-f]+`), "hmac-sha256:<hmac>"},
}

// normalise turns output into its golden form: the work directory becomes
// $WORK; the emulator's account ID, port and token $ACCOUNT_ID, $PORT and
// $CLOUDFLARE_API_TOKEN; the pairing request's id $DEVICE; then scrubs
// apply. Everything else is compared as printed.
func (sc *scriptState) normalise(ts *testscript.TestScript, s string) string {
	work := ts.Getenv("WORK")
	pairs := []string{work, "$WORK"}
	if real, err := filepath.EvalSymlinks(work); err == nil && real != work {
		pairs = append(pairs, real, "$WORK")
	}
	if e := sc.emu; e != nil {
		pairs = append(pairs,
			e.srv.Token(), "$CLOUDFLARE_API_TOKEN",
			e.srv.AccountID(), "$ACCOUNT_ID",
			"127.0.0.1:"+e.port, "127.0.0.1:$PORT",
			"localhost:"+e.port, "localhost:$PORT")
	}
	if id := ts.Getenv("DEVICE"); id != "" {
		pairs = append(pairs, id, "$DEVICE")
	}
	s = strings.NewReplacer(pairs...).Replace(s)
	for _, sc := range scrubs {
		s = sc.re.ReplaceAllString(s, sc.with)
	}
	return s
}
