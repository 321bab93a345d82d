package prompt

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTerminal(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	// One answer a line; a wrong answer is asked again.
	p := &Terminal{In: strings.NewReader("\nmaybe\nn\n9\n2\n\n1, 3\n-\n\nbad\nok\n"), Out: &out}
	opts := []string{"a", "b", "c"}

	if v, err := p.Confirm("go?", true); err != nil || !v {
		t.Errorf("Confirm default = %v, %v", v, err)
	}
	if v, err := p.Confirm("go?", true); err != nil || v {
		t.Errorf("Confirm after a bad answer = %v, %v", v, err)
	}
	if v, err := p.Select("pick", opts, "a"); err != nil || v != "b" {
		t.Errorf("Select = %q, %v", v, err)
	}
	if v, err := p.Select("pick", opts, "c"); err != nil || v != "c" {
		t.Errorf("Select default = %q, %v", v, err)
	}
	if v, err := p.MultiSelect("many", opts, nil); err != nil || !reflect.DeepEqual(v, []string{"a", "c"}) {
		t.Errorf("MultiSelect = %q, %v", v, err)
	}
	if v, err := p.MultiSelect("many", opts, []string{"b"}); err != nil || v != nil {
		t.Errorf("MultiSelect none = %q, %v", v, err)
	}
	notBad := func(s string) error {
		if s == "bad" {
			return errors.New("not that")
		}
		return nil
	}
	if v, err := p.Input("name", "", notBad); err != nil || v != "" {
		t.Errorf("Input empty = %q, %v", v, err)
	}
	if v, err := p.Input("name", "def", notBad); err != nil || v != "ok" {
		t.Errorf("Input after a refused answer = %q, %v", v, err)
	}
	if !strings.Contains(out.String(), "answer y or n") || !strings.Contains(out.String(), "enter a number from 1 to 3") || !strings.Contains(out.String(), "not that") {
		t.Errorf("refusals not shown:\n%s", out.String())
	}
	// The input has ended: the next question is cancelled, not answered.
	if _, err := p.Confirm("again?", true); !errors.Is(err, ErrAborted) {
		t.Errorf("at end of input: %v, want ErrAborted", err)
	}
}
