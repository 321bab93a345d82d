package manifest

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	t.Parallel()
	entries, err := ParseDotenv("testdata/sample.dev.vars", mustRead(t, "testdata/sample.dev.vars"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	lines := map[string]int{}
	for _, e := range entries {
		got[e.Key] = e.Value
		lines[e.Key] = e.Line
	}
	want := map[string]string{
		"ANTHROPIC_API_KEY":     "sk-ant-api03-FAKEfakeFAKEfake0123456789abcdefghijklmnopqrstuvwxyz",
		"MOLTBOT_GATEWAY_TOKEN": "3f9c2a7be41d08c6f5a92e3b7d10c4e8a6f2b9d13c5e7a08f4b6d2c9e1a3f507",
		"DEV_MODE":              "true",
		"DEBUG_ROUTES":          "true",
		"MULTI":                 "line one\nline two\nthree",
		"EMPTY":                 "",
		"SANDBOX_SLEEP_AFTER":   "10m",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) || lines["SANDBOX_SLEEP_AFTER"] != 9 || lines["MULTI"] != 6 {
		t.Errorf("entries %v lines %v", got, lines)
	}
}

func TestParseDotenvErrors(t *testing.T) {
	t.Parallel()
	const secret = "sk-ant-api03-SECRETsecret0123456789"
	tests := map[string]string{
		"A=1\nno equals here " + secret + "\n": ".dev.vars:2: not NAME=value",
		"1A=" + secret + "\n":                  ".dev.vars:1: not NAME=value",
		// The tail of a pasted base64 key or PEM block holds = signs.
		"A=1\nMIIBSECRETtail+/abc==\n":               ".dev.vars:2: not NAME=value",
		"A=\"x\"\n-----END SECRET KEY-----\nB=2\n":   ".dev.vars:2: not NAME=value",
		"SECRET-KEY=" + secret + "\n":                ".dev.vars:1: not NAME=value",
		"A=1\nMIIBsecretTail0123456789abcdefXYZ==\n": ".dev.vars:2: not NAME=value",
		"A=1\nMIIBsecretTail0123456789abcdefXYZ=\n":  ".dev.vars:2: not NAME=value",
		"A=1\n" + strings.Repeat("B", 70) + "=\n":    ".dev.vars:2: not NAME=value",
		"A=1\nB=\"" + secret + "\n":                  ".dev.vars:2:3: B: unterminated quoted value",
		"A='" + secret + "' trailing\n":              ".dev.vars:1:",
	}
	for in, want := range tests {
		_, err := ParseDotenv(".dev.vars", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error echoes a value: %v", err)
		}
	}
}

func TestParseDotenvBounded(t *testing.T) {
	t.Parallel()
	// A file that is not dotenv at all: a few errors, not one per line.
	_, err := ParseDotenv("x.env", []byte(strings.Repeat("SECRET garbage\n", 50_000)))
	var l ErrorList
	if !errors.As(err, &l) || len(l) != maxDotenvErrors || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("err = %.300v (%d errors)", err, len(l))
	}
	_, err = ParseDotenv("x.env", []byte("A=\""+strings.Repeat("x", MaxFileSize)+"\""))
	if err == nil || !strings.Contains(err.Error(), "x.env: larger than 1024 KiB") {
		t.Fatalf("large: %v", err)
	}
}
