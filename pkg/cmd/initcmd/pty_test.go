//go:build !windows

package initcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// screen collects what the program draws on the terminal. It answers no
// terminal query: the prompts must not send any.
type screen struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen int // offset up to which expect has consumed
	pty  *os.File
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]`)

func (s *screen) read(r io.Reader) {
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		if n > 0 {
			chunk := b[:n]
			s.mu.Lock()
			s.buf.Write(chunk)
			s.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// expect waits until text appears on the screen after what earlier calls
// consumed. The wait bounds a hang; it measures nothing.
func (s *screen) expect(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		plain := ansiRE.ReplaceAllString(s.buf.String()[s.seen:], "")
		if i := strings.Index(plain, text); i >= 0 {
			s.seen = s.buf.Len()
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("screen never showed %q; it shows:\n%s", text, ansiRE.ReplaceAllString(s.buf.String(), ""))
}

// send types keys one at a time, as a person does.
func (s *screen) send(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := s.pty.Write([]byte(k)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

const keyEnter = "\r"

// TestInitInTerminal answers the form in a real pseudo-terminal, as a
// person would, then runs init again and checks it edits.
func TestInitInTerminal(t *testing.T) {
	t.Parallel()
	dir := project(t)
	path := filepath.Join(dir, ManifestName)

	run := func(t *testing.T, drive func(s *screen)) string {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Skipf("no pseudo-terminal: %v", err)
		}
		defer ptmx.Close()
		defer tty.Close()
		_ = pty.Setsize(ptmx, &pty.Winsize{Rows: 40, Cols: 120})

		streams := &iostreams.IOStreams{In: tty, Out: &bytes.Buffer{}, ErrOut: tty}
		streams.SetTTY(true)
		f := &cmdutil.Factory{
			IOStreams:  streams,
			Global:     &cmdutil.GlobalOptions{Output: cmdutil.OutputText},
			Getenv:     func(string) string { return "" },
			WorkingDir: dir,
			Now:        time.Now,
			HTTPClient: cmdutil.NewHTTPClient(),
		}
		s := &screen{pty: ptmx}
		go s.read(ptmx)

		done := make(chan error, 1)
		go func() {
			cmd := newCmdInit(f, nil)
			cmd.SetArgs(nil)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			done <- cmd.ExecuteContext(context.Background())
		}()
		drive(s)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("init: %v\nscreen:\n%s", err, ansiRE.ReplaceAllString(s.buf.String(), ""))
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("init did not finish; screen:\n%s", ansiRE.ReplaceAllString(s.buf.String(), ""))
		}
		return streams.Out.(*bytes.Buffer).String()
	}

	out := run(t, func(s *screen) {
		s.expect(t, "Which AI provider")
		s.send(t, "2"+keyEnter) // OpenAI
		s.expect(t, "Which chat channels")
		s.send(t, "1,3"+keyEnter) // Telegram and Slack
		s.expect(t, "Keep the assistant's data in R2")
		s.send(t, "y"+keyEnter)
		s.expect(t, "Who may open the assistant")
		s.send(t, "me@example.com, example.org"+keyEnter)
		s.expect(t, "When should the container sleep")
		s.mu.Lock()
		shown := ansiRE.ReplaceAllString(s.buf.String(), "")
		s.mu.Unlock()
		never, _, _ := sleepCost("never")
		tenMin, _, _ := sleepCost("10m")
		for _, cost := range []string{fmt.Sprintf("~$%.2f/month", never), fmt.Sprintf("~$%.2f/month", tenMin)} {
			if !strings.Contains(shown, cost) {
				t.Errorf("the sleep choices do not show %s", cost)
			}
		}
		s.send(t, keyEnter) // the default: 10m
	})
	if !strings.Contains(out, "Created") {
		t.Errorf("output: %s", out)
	}
	got := readFile(t, path)
	for _, w := range []string{"OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "SLACK_APP_TOKEN", "R2_ACCESS_KEY_ID", `- "me@example.com"`, `- "example.org"`, `SANDBOX_SLEEP_AFTER: "10m"`} {
		if !strings.Contains(got, w) {
			t.Errorf("manifest lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "DISCORD") || strings.Contains(got, "ANTHROPIC") {
		t.Errorf("manifest has unasked entries:\n%s", got)
	}
	checkManifest(t, path)

	// Second run: the form starts from the manifest; change only the sleep policy.
	if err := os.WriteFile(path, []byte("# kept comment\n"+got), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(t, func(s *screen) {
		s.expect(t, "Which AI provider")
		s.send(t, keyEnter)
		s.expect(t, "Which chat channels")
		s.send(t, keyEnter)
		s.expect(t, "Keep the assistant's data in R2")
		s.send(t, keyEnter)
		s.expect(t, "Who may open the assistant")
		s.send(t, keyEnter)
		s.expect(t, "When should the container sleep")
		s.send(t, "3"+keyEnter) // 30m
	})
	if !strings.Contains(out, "Updated") {
		t.Errorf("output: %s", out)
	}
	got = readFile(t, path)
	for _, w := range []string{"# kept comment", "OPENAI_API_KEY", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", `- "example.org"`, `SANDBOX_SLEEP_AFTER: "30m"`, "r2: true"} {
		if !strings.Contains(got, w) {
			t.Errorf("second run: manifest lacks %q:\n%s", w, got)
		}
	}
	checkManifest(t, path)
}
