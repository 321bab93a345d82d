// Package prompt asks the user questions on a terminal, one line at a time,
// and refuses clearly, naming the flag to pass instead, when nobody can answer.
package prompt

import (
	"errors"
	"fmt"
)

// Prompter asks questions. Implementations: Terminal and NoPrompt.
type Prompter interface {
	Confirm(title string, def bool) (bool, error)
	Input(title, def string, validate func(string) error) (string, error)
	// Password reads a value without echoing it.
	Password(title string, validate func(string) error) (string, error)
	Select(title string, options []string, def string) (string, error)
	MultiSelect(title string, options []string, defaults []string) ([]string, error)
}

// ErrNoPrompt is returned when a question cannot be asked.
var ErrNoPrompt = errors.New("cannot prompt: not running interactively")

// NoPromptError says which flag answers the question that could not be asked.
type NoPromptError struct{ Question, Instead string }

func (e *NoPromptError) Error() string {
	return fmt.Sprintf("%q needs an answer but moltctl is not running interactively", e.Question)
}

// Hint names what to pass instead.
func (e *NoPromptError) Hint() string { return e.Instead }

// ExitCode marks it as a usage error.
func (e *NoPromptError) ExitCode() int { return 2 }

func (e *NoPromptError) Unwrap() error { return ErrNoPrompt }

// NoPrompt answers every question with a NoPromptError.
type NoPrompt struct{}

// Confirm fails: confirmations need --yes when not interactive.
func (NoPrompt) Confirm(title string, _ bool) (bool, error) {
	return false, &NoPromptError{Question: title, Instead: "pass --yes to confirm"}
}

// Input fails.
func (NoPrompt) Input(title, _ string, _ func(string) error) (string, error) {
	return "", &NoPromptError{Question: title, Instead: "pass the value with a flag; see --help"}
}

// Password fails.
func (NoPrompt) Password(title string, _ func(string) error) (string, error) {
	return "", &NoPromptError{Question: title, Instead: "give the secret a source in moltctl.yaml (env, file, command) or set its environment variable"}
}

// Select fails.
func (NoPrompt) Select(title string, _ []string, _ string) (string, error) {
	return "", &NoPromptError{Question: title, Instead: "pass the choice with a flag; see --help"}
}

// MultiSelect fails.
func (NoPrompt) MultiSelect(title string, _ []string, _ []string) ([]string, error) {
	return nil, &NoPromptError{Question: title, Instead: "pass the choices with flags; see --help"}
}
