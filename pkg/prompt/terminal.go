package prompt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/moby/term"
)

// ErrAborted is returned when the user ends the input (Ctrl-D) or presses
// Ctrl-C at a question. It exits as a declined confirmation does (6).
var ErrAborted error = abortedError{}

type abortedError struct{}

func (abortedError) Error() string { return "cancelled at the prompt" }
func (abortedError) ExitCode() int { return 6 }

// Terminal asks questions one line at a time on a terminal. It draws nothing
// but plain text and never queries the terminal (no background-colour or
// cursor-position request), so it cannot stall on a terminal that does not
// answer such queries, and works the same in screen readers and logs.
type Terminal struct {
	In  io.Reader
	Out io.Writer
}

// readLine reads one line from In, byte by byte so that nothing after the
// line is consumed. Ctrl-C returns ErrAborted at once: the read itself
// cannot be interrupted, so it runs on its own goroutine.
func (t *Terminal) readLine() (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 1)
		for {
			n, err := t.In.Read(buf)
			if n == 1 {
				if buf[0] == '\n' {
					done <- result{line: strings.TrimRight(b.String(), "\r")}
					return
				}
				b.WriteByte(buf[0])
			}
			if err != nil {
				if err == io.EOF && b.Len() > 0 {
					done <- result{line: b.String()}
					return
				}
				done <- result{err: ErrAborted}
				return
			}
		}
	}()
	intr := make(chan os.Signal, 1)
	signal.Notify(intr, os.Interrupt)
	defer signal.Stop(intr)
	select {
	case r := <-done:
		return r.line, r.err
	case <-intr:
		fmt.Fprintln(t.Out)
		return "", ErrAborted
	}
}

// ask shows prompt and reads answers until check accepts one.
func (t *Terminal) ask(prompt string, check func(string) error) (string, error) {
	for {
		fmt.Fprint(t.Out, prompt)
		line, err := t.readLine()
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if check == nil {
			return line, nil
		}
		if err := check(line); err != nil {
			fmt.Fprintf(t.Out, "  %s\n", err)
			continue
		}
		return line, nil
	}
}

// Confirm asks a yes/no question; Enter takes def.
func (t *Terminal) Confirm(title string, def bool) (bool, error) {
	hint := "[y/N]"
	if def {
		hint = "[Y/n]"
	}
	v := def
	_, err := t.ask(fmt.Sprintf("? %s %s ", title, hint), func(s string) error {
		switch strings.ToLower(s) {
		case "":
			v = def
		case "y", "yes":
			v = true
		case "n", "no":
			v = false
		default:
			return errors.New("answer y or n")
		}
		return nil
	})
	return v, err
}

// Input asks for a line of text; Enter keeps def.
func (t *Terminal) Input(title, def string, validate func(string) error) (string, error) {
	p := fmt.Sprintf("? %s ", title)
	if def != "" {
		p = fmt.Sprintf("? %s [%s] ", title, def)
	}
	v, err := t.ask(p, func(s string) error {
		if s == "" {
			s = def
		}
		if validate != nil {
			return validate(s)
		}
		return nil
	})
	if v == "" {
		v = def
	}
	return v, err
}

// Password asks for a value with echo off when In is a terminal.
func (t *Terminal) Password(title string, validate func(string) error) (string, error) {
	if f, ok := t.In.(*os.File); ok && term.IsTerminal(f.Fd()) {
		if st, err := term.SaveState(f.Fd()); err == nil {
			if term.DisableEcho(f.Fd(), st) == nil {
				defer func() {
					_ = term.RestoreTerminal(f.Fd(), st)
					fmt.Fprintln(t.Out) // the user's Enter was not echoed
				}()
			}
		}
	}
	return t.ask(fmt.Sprintf("? %s ", title), validate)
}

// Select shows the options numbered and takes a number or an option's
// text; Enter keeps def.
func (t *Terminal) Select(title string, options []string, def string) (string, error) {
	fmt.Fprintf(t.Out, "? %s\n", title)
	defIdx := -1
	for i, o := range options {
		mark := " "
		if o == def {
			mark, defIdx = ">", i
		}
		fmt.Fprintf(t.Out, "  %s %d) %s\n", mark, i+1, o)
	}
	p := fmt.Sprintf("  Choose 1-%d: ", len(options))
	if defIdx >= 0 {
		p = fmt.Sprintf("  Choose 1-%d [%d]: ", len(options), defIdx+1)
	}
	v := def
	_, err := t.ask(p, func(s string) error {
		if s == "" && defIdx >= 0 {
			return nil
		}
		i, ok := pick(s, options)
		if !ok {
			return fmt.Errorf("enter a number from 1 to %d", len(options))
		}
		v = options[i]
		return nil
	})
	return v, err
}

// MultiSelect shows the options numbered and takes numbers separated by
// commas or spaces; Enter keeps defaults, "-" chooses none.
func (t *Terminal) MultiSelect(title string, options []string, defaults []string) ([]string, error) {
	fmt.Fprintf(t.Out, "? %s\n", title)
	var defNums []string
	for i, o := range options {
		mark := " "
		for _, d := range defaults {
			if d == o {
				mark = "x"
				defNums = append(defNums, strconv.Itoa(i+1))
			}
		}
		fmt.Fprintf(t.Out, "  [%s] %d) %s\n", mark, i+1, o)
	}
	keep := "none"
	if len(defNums) > 0 {
		keep = strings.Join(defNums, ",")
	}
	v := append([]string(nil), defaults...)
	_, err := t.ask(fmt.Sprintf("  Numbers separated by commas, - for none [%s]: ", keep), func(s string) error {
		switch s {
		case "":
			return nil
		case "-":
			v = nil
			return nil
		}
		var chosen []string
		seen := map[int]bool{}
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			i, ok := pick(f, options)
			if !ok {
				return fmt.Errorf("%q is not a number from 1 to %d", f, len(options))
			}
			if !seen[i] {
				seen[i] = true
				chosen = append(chosen, options[i])
			}
		}
		v = chosen
		return nil
	})
	return v, err
}

// pick finds s among options, as a 1-based number or as the option's text.
func pick(s string, options []string) (int, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return n - 1, n >= 1 && n <= len(options)
	}
	for i, o := range options {
		if strings.EqualFold(o, s) {
			return i, true
		}
	}
	return 0, false
}
