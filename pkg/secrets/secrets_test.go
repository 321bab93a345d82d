package secrets

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
)

// fakes are realistic, syntactically valid, fake values for every name.
var fakes = map[string]string{
	"MOLTBOT_GATEWAY_TOKEN":         "3f9c2a7be41d08c6f5a92e3b7d10c4e8a6f2b9d13c5e7a08f4b6d2c9e1a3f507",
	"CF_ACCESS_TEAM_DOMAIN":         "example-team.cloudflareaccess.com",
	"CF_ACCESS_AUD":                 "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
	"ANTHROPIC_API_KEY":             "sk-ant-api03-FAKEfakeFAKEfake0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV-wxyzAA",
	"ANTHROPIC_BASE_URL":            "https://api.anthropic.com",
	"OPENAI_API_KEY":                "sk-proj-FAKEfake0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
	"CLOUDFLARE_AI_GATEWAY_API_KEY": "FAKEcfAIgw0123456789abcdefghijklmnopqrst",
	"CF_AI_GATEWAY_ACCOUNT_ID":      "0123456789abcdef0123456789abcdef",
	"CF_AI_GATEWAY_GATEWAY_ID":      "my-gateway",
	"CF_AI_GATEWAY_MODEL":           "workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast",
	"AI_GATEWAY_API_KEY":            "FAKElegacyGatewayKey0123456789",
	"AI_GATEWAY_BASE_URL":           "https://gateway.ai.cloudflare.com/v1/0123456789abcdef0123456789abcdef/my-gateway/anthropic",
	"R2_ACCESS_KEY_ID":              "fedcba9876543210fedcba9876543210",
	"R2_SECRET_ACCESS_KEY":          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	"CF_ACCOUNT_ID":                 "abcdefabcdefabcdefabcdefabcdef01",
	"R2_BUCKET_NAME":                "moltbot-data",
	"SANDBOX_SLEEP_AFTER":           "10m",
	"DEV_MODE":                      "false",
	"E2E_TEST_MODE":                 "false",
	"DEBUG_ROUTES":                  "false",
	"TELEGRAM_BOT_TOKEN":            "123456789:AAHfakeFAKEfake0123456789abcdefghij",
	"TELEGRAM_DM_POLICY":            "pairing",
	"TELEGRAM_DM_ALLOW_FROM":        "12345,67890",
	"DISCORD_BOT_TOKEN":             "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.FAKEfakeFAKEfake0123456789abcdefghij",
	"DISCORD_DM_POLICY":             "open",
	"SLACK_BOT_TOKEN":               "xoxb-123456789012-1234567890123-FAKEfakeFAKEfake01234567",
	"SLACK_APP_TOKEN":               "xapp-1-A0123456789-1234567890123-fakefakefakefake0123456789abcdef",
	"CDP_SECRET":                    "cdp-FAKE-shared-secret-0123456789",
	"WORKER_URL":                    "https://moltbot-sandbox.example.workers.dev",
	"CF_AIG_TOKEN":                  "FAKEaigToken0123456789abcdef",
}

func TestEveryNameHasAValidFake(t *testing.T) {
	t.Parallel()
	for _, s := range Catalogue() {
		v, ok := fakes[s.Name]
		if !ok {
			t.Errorf("no fake for %s", s.Name)
			continue
		}
		if err := ValidateValue(s.Name, v); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	if len(fakes) != len(Catalogue()) {
		t.Errorf("%d fakes for %d names", len(fakes), len(Catalogue()))
	}
}

func TestKindsRejectNearMisses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"ANTHROPIC_API_KEY", "sk-proj-FAKEfake0123456789abcdefghijklmnop", false},
		{"OPENAI_API_KEY", fakes["ANTHROPIC_API_KEY"], false},
		{"OPENAI_API_KEY", "sk-FAKEfake0123456789abcdefghij", true},
		// moltworker takes any gateway token: an existing deploy's can be imported.
		{"MOLTBOT_GATEWAY_TOKEN", strings.Repeat("a", 63), true},
		{"MOLTBOT_GATEWAY_TOKEN", "my-old-token", true},
		{"MOLTBOT_GATEWAY_TOKEN", "", false},
		{"CF_ACCESS_TEAM_DOMAIN", "https://example-team.cloudflareaccess.com", true},
		{"CF_ACCESS_TEAM_DOMAIN", "example-team.cloudflare.com", false},
		{"CF_ACCOUNT_ID", strings.Repeat("0", 31), false},
		{"R2_SECRET_ACCESS_KEY", strings.Repeat("0", 32), false},
		{"TELEGRAM_BOT_TOKEN", "123456789:short", false},
		{"SLACK_BOT_TOKEN", fakes["SLACK_APP_TOKEN"], false},
		{"SLACK_APP_TOKEN", fakes["SLACK_BOT_TOKEN"], false},
		{"SANDBOX_SLEEP_AFTER", "never", true},
		{"SANDBOX_SLEEP_AFTER", "30s", true},
		{"SANDBOX_SLEEP_AFTER", "1H", true},
		{"SANDBOX_SLEEP_AFTER", "10 minutes", false},
		{"DEBUG_ROUTES", "yes", false},
		{"TELEGRAM_DM_POLICY", "allowlist", false},
		{"CF_AI_GATEWAY_MODEL", "llama", false},
		{"WORKER_URL", "moltbot.example.workers.dev", false},
		{"R2_BUCKET_NAME", "Moltbot_Data", false},
		{"UNKNOWN_NAME", "anything at all", true},
		{"UNKNOWN_NAME", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+fmt.Sprint(tt.ok), func(t *testing.T) {
			t.Parallel()
			err := ValidateValue(tt.name, tt.value)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateValue = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && tt.value != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.value)) {
				t.Fatalf("error holds the value: %v", err)
			}
		})
	}
}

func complete() map[string]string {
	m := map[string]string{}
	for k, v := range fakes {
		m[k] = v
	}
	return m
}

func TestCompleteSetHasOnlyWarnings(t *testing.T) {
	t.Parallel()
	r := Validate(Input{Secrets: NewValues(complete())})
	if !r.OK() {
		t.Fatalf("errors: %+v", r.Errors())
	}
	var ineffective bool
	for _, p := range r.Warnings() {
		ineffective = ineffective || (p.Code == CodeIneffective && p.Name == "TELEGRAM_DM_ALLOW_FROM")
	}
	if !ineffective {
		t.Fatalf("TELEGRAM_DM_ALLOW_FROM not flagged: %+v", r.Problems)
	}
}

// TestEveryPairwiseSwap exchanges the values of every two names in a
// complete, valid set and checks the report names the swap (or, for
// kinds that share one format, that nothing can tell).
func TestEveryPairwiseSwap(t *testing.T) {
	t.Parallel()
	cat := Catalogue()
	var same, named, other int
	defer func() {
		t.Logf("%d indistinguishable pairs, %d swaps named, %d other errors", same, named, other)
		if same == 0 || named < 60 || other == 0 {
			t.Errorf("the pairwise table did not exercise every branch")
		}
	}()
	for i, a := range cat {
		for _, b := range cat[i+1:] {
			va, vb := fakes[a.Name], fakes[b.Name]
			m := complete()
			m[a.Name], m[b.Name] = vb, va
			r := Validate(Input{Secrets: NewValues(m)})
			for _, p := range r.Problems {
				for _, v := range []string{va, vb} {
					if len(v) >= 12 && strings.Contains(p.Message, v) || strings.Contains(p.Fix, v) {
						t.Fatalf("%s<->%s: problem text holds a value: %+v", a.Name, b.Name, p)
					}
				}
			}
			aFitsB, bFitsA := b.Kind.Valid(va), a.Kind.Valid(vb)
			switch {
			case aFitsB && bFitsA:
				same++
				if errs := errorsAbout(r, a.Name, b.Name); len(errs) > 0 {
					t.Errorf("%s<->%s: indistinguishable kinds but errors %+v", a.Name, b.Name, errs)
				}
			case a.Kind.Distinctive && b.Kind.Distinctive:
				named++
				if !hasSwap(r, a.Name, b.Name) {
					t.Errorf("%s<->%s: no swap named both: %+v", a.Name, b.Name, r.Problems)
				}
			default:
				other++
				if len(errorsAbout(r, a.Name, b.Name)) == 0 {
					t.Errorf("%s<->%s: swap not reported at all: %+v", a.Name, b.Name, r.Problems)
				}
			}
		}
	}
}

func errorsAbout(r *Report, a, b string) []Problem {
	var out []Problem
	for _, p := range r.Errors() {
		if p.Name == a || p.Name == b || p.SwappedWith == a || p.SwappedWith == b {
			out = append(out, p)
		}
	}
	return out
}

func hasSwap(r *Report, a, b string) bool {
	for _, p := range r.Errors() {
		if p.Code == CodeSwap && ((p.Name == a && p.SwappedWith == b) || (p.Name == b && p.SwappedWith == a)) &&
			strings.Contains(p.Message, a) && strings.Contains(p.Message, b) {
			return true
		}
	}
	return false
}

func TestSwapMessageExample(t *testing.T) {
	t.Parallel()
	m := map[string]string{
		"MOLTBOT_GATEWAY_TOKEN": fakes["MOLTBOT_GATEWAY_TOKEN"],
		"CF_ACCESS_TEAM_DOMAIN": fakes["CF_ACCESS_TEAM_DOMAIN"],
		"ANTHROPIC_API_KEY":     fakes["CF_ACCESS_AUD"],
		"CF_ACCESS_AUD":         "not-an-aud",
	}
	err := Check(NewValues(m))
	want := "the value for ANTHROPIC_API_KEY looks like a Cloudflare Access AUD; did you swap it with CF_ACCESS_AUD?"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %q", err, want)
	}
	if ce, ok := err.(*CheckError); !ok || ce.ExitCode() != 2 {
		t.Fatalf("want *CheckError exit 2, got %T", err)
	}
}

func TestRequiredAndGroups(t *testing.T) {
	t.Parallel()
	base := func() map[string]string {
		return map[string]string{
			"MOLTBOT_GATEWAY_TOKEN": fakes["MOLTBOT_GATEWAY_TOKEN"],
			"ANTHROPIC_API_KEY":     fakes["ANTHROPIC_API_KEY"],
		}
	}
	tests := []struct {
		name    string
		edit    func(m map[string]string)
		vars    map[string]string
		pending []string
		want    []string // codes of errors, in any order
	}{
		{"access pending from deploy", nil, nil, []string{"CF_ACCESS_AUD", "CF_ACCESS_TEAM_DOMAIN"}, nil},
		{"access missing", nil, nil, nil, []string{CodeMissing, CodeMissing}},
		{"e2e test mode skips access", nil, map[string]string{"E2E_TEST_MODE": "true"}, nil, nil},
		{"no gateway token", func(m map[string]string) { delete(m, "MOLTBOT_GATEWAY_TOKEN") }, map[string]string{"DEV_MODE": "true"}, nil, []string{CodeMissing}},
		{"no provider", func(m map[string]string) { delete(m, "ANTHROPIC_API_KEY") }, map[string]string{"DEV_MODE": "true"}, nil, []string{CodeProvider}},
		{"gateway trio complete", func(m map[string]string) {
			delete(m, "ANTHROPIC_API_KEY")
			m["CLOUDFLARE_AI_GATEWAY_API_KEY"] = fakes["CLOUDFLARE_AI_GATEWAY_API_KEY"]
		}, map[string]string{"DEV_MODE": "true", "CF_AI_GATEWAY_ACCOUNT_ID": fakes["CF_AI_GATEWAY_ACCOUNT_ID"], "CF_AI_GATEWAY_GATEWAY_ID": "gw"}, nil, nil},
		{"gateway trio partial", func(m map[string]string) {
			delete(m, "ANTHROPIC_API_KEY")
			m["CLOUDFLARE_AI_GATEWAY_API_KEY"] = fakes["CLOUDFLARE_AI_GATEWAY_API_KEY"]
		}, map[string]string{"DEV_MODE": "true"}, nil, []string{CodeProvider, CodeGroup}},
		{"legacy pair", func(m map[string]string) {
			delete(m, "ANTHROPIC_API_KEY")
			m["AI_GATEWAY_API_KEY"] = fakes["AI_GATEWAY_API_KEY"]
			m["AI_GATEWAY_BASE_URL"] = fakes["AI_GATEWAY_BASE_URL"]
		}, map[string]string{"DEV_MODE": "true"}, nil, nil},
		{"r2 partial", func(m map[string]string) { m["R2_ACCESS_KEY_ID"] = fakes["R2_ACCESS_KEY_ID"] }, map[string]string{"DEV_MODE": "true"}, nil, []string{CodeGroup}},
		{"r2 from deploy", nil, map[string]string{"DEV_MODE": "true"}, []string{"R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", "CF_ACCOUNT_ID", "R2_BUCKET_NAME"}, nil},
		{"account id alone is fine", func(m map[string]string) { m["CF_ACCOUNT_ID"] = fakes["CF_ACCOUNT_ID"] }, map[string]string{"DEV_MODE": "true"}, nil, nil},
		{"slack half", func(m map[string]string) { m["SLACK_BOT_TOKEN"] = fakes["SLACK_BOT_TOKEN"] }, map[string]string{"DEV_MODE": "true"}, nil, []string{CodeGroup}},
		// /cdp needs only CDP_SECRET; moltctl deploy sets WORKER_URL itself.
		{"cdp secret alone", func(m map[string]string) { m["CDP_SECRET"] = fakes["CDP_SECRET"] }, map[string]string{"DEV_MODE": "true"}, nil, nil},
		{"secret under vars", nil, map[string]string{"DEV_MODE": "true", "OPENAI_API_KEY": fakes["OPENAI_API_KEY"]}, nil, []string{CodeMisplaced}},
		{"bad var", nil, map[string]string{"DEV_MODE": "true", "SANDBOX_SLEEP_AFTER": "soon"}, nil, []string{CodeFormat}},
		{"declared twice", nil, map[string]string{"DEV_MODE": "true", "ANTHROPIC_API_KEY": "x"}, nil, []string{CodeDuplicate}},
		{"bad name", func(m map[string]string) { m["1BAD-NAME"] = "x" }, map[string]string{"DEV_MODE": "true"}, nil, []string{CodeName}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := base()
			if tt.edit != nil {
				tt.edit(m)
			}
			r := Validate(Input{Secrets: NewValues(m), Vars: tt.vars, Pending: tt.pending})
			var got []string
			for _, p := range r.Errors() {
				got = append(got, p.Code)
			}
			if fmt.Sprint(sortStrings(got)) != fmt.Sprint(sortStrings(tt.want)) {
				t.Fatalf("error codes %v, want %v\n%+v", got, tt.want, r.Errors())
			}
		})
	}
}

func sortStrings(s []string) []string {
	b := map[string]bool{}
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	_ = b
	return out
}

func TestUnknownNameIsFlaggedNotRejected(t *testing.T) {
	t.Parallel()
	m := complete()
	m["MY_EXTRA"] = "value-1"
	r := Validate(Input{Secrets: NewValues(m)})
	if !r.OK() {
		t.Fatalf("unknown name rejected: %+v", r.Errors())
	}
	if ps := r.ForName("MY_EXTRA"); len(ps) != 1 || ps[0].Code != CodeUnknown {
		t.Fatalf("unknown name not flagged: %+v", ps)
	}
}

func TestValuesNeverPrint(t *testing.T) {
	t.Parallel()
	const sentinel = "SENTINEL-value-4b1d"
	var v Values
	v.Set("A_SECRET", sentinel)
	b, _ := json.Marshal(map[string]any{"v": v, "p": &v})
	var logBuf strings.Builder
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "values", v)
	outs := []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v), fmt.Sprintf("%v %#v", &v, &v),
		v.String(), v.GoString(), string(b), logBuf.String(),
	}
	for _, o := range outs {
		if strings.Contains(o, sentinel) || strings.Contains(o, fmt.Sprintf("%x", sentinel)) {
			t.Fatalf("value printed: %s", o)
		}
		if !strings.Contains(o, "A_SECRET") {
			t.Fatalf("name missing: %s", o)
		}
	}
	if got, _ := v.Get("A_SECRET"); got != sentinel {
		t.Fatal("Get lost the value")
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	k1, k2 := []byte("key-one"), []byte("key-two")
	if d := Digest(k1, "v"); d != Digest(k1, "v") || d == Digest(k1, "w") || d == Digest(k2, "v") {
		t.Fatal("digest is not a keyed function of the value")
	}
	if len(Digest(k1, "v")) != 64 {
		t.Fatal("want hex SHA-256")
	}
}

func TestShortGatewayTokenWarns(t *testing.T) {
	t.Parallel()
	m := complete()
	m["MOLTBOT_GATEWAY_TOKEN"] = "imported-token"
	r := Validate(Input{Secrets: NewValues(m)})
	if !r.OK() {
		t.Fatalf("a short token is an error: %+v", r.Errors())
	}
	found := false
	for _, p := range r.Warnings() {
		found = found || (p.Name == "MOLTBOT_GATEWAY_TOKEN" && strings.Contains(p.Message, "shorter than"))
	}
	if !found {
		t.Fatalf("no warning for a short token: %+v", r.Problems)
	}
	m["MOLTBOT_GATEWAY_TOKEN"] = fakes["MOLTBOT_GATEWAY_TOKEN"]
	for _, p := range Validate(Input{Secrets: NewValues(m)}).Problems {
		if p.Name == "MOLTBOT_GATEWAY_TOKEN" {
			t.Errorf("a 64-character token: %+v", p)
		}
	}
}

// The span matchers do what the regular expressions they replace did.
func TestSpanMatchesItsRegexp(t *testing.T) {
	t.Parallel()
	for expr, match := range map[string]func(string) bool{
		`^sk-ant-[A-Za-z0-9_-]{20,300}$`: span("sk-ant-", 20, 300, isToken),
		`^sk-[A-Za-z0-9_-]{20,300}$`:     span("sk-", 20, 300, isToken),
		`^[0-9a-fA-F]{64}$`:              span("", 64, 64, isHex),
		`^[0-9a-fA-F]{32}$`:              span("", 32, 32, isHex),
		`^xoxb-[0-9A-Za-z-]{20,250}$`:    span("xoxb-", 20, 250, isSlack),
		`^xapp-[0-9A-Za-z-]{20,250}$`:    span("xapp-", 20, 250, isSlack),
		`^[!-~]{16,512}$`:                span("", 16, 512, isGraphic),
	} {
		re := regexp.MustCompile(expr)
		prefix := strings.TrimLeft(strings.Split(expr, "[")[0], "^")
		var inputs []string
		for c := 0; c < 256; c++ {
			for _, n := range []int{0, 1, 15, 16, 19, 20, 31, 32, 33, 63, 64, 65, 250, 251, 300, 301, 512, 513} {
				body := strings.Repeat("a", n)
				if n > 0 {
					body = body[:n/2] + string(rune(c)) + body[n/2+1:]
				}
				inputs = append(inputs, prefix+body, body, "x"+prefix+body, prefix+body+"\n")
			}
		}
		inputs = append(inputs, prefix+strings.Repeat("é", 20), prefix+strings.Repeat("0", 40)+" ")
		for _, in := range inputs {
			if got, want := match(in), re.MatchString(in); got != want {
				t.Errorf("%s: span(%q) = %v, the expression says %v", expr, in, got, want)
			}
		}
	}
}

func TestSetCommandNamesOneRunnableCommand(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   []string
		cmd  string
		alts int
	}{
		{[]string{"ANTHROPIC_API_KEY, OPENAI_API_KEY, or CLOUDFLARE_AI_GATEWAY_API_KEY + CF_AI_GATEWAY_ACCOUNT_ID + CF_AI_GATEWAY_GATEWAY_ID"}, "moltctl secrets set ANTHROPIC_API_KEY", 1},
		{[]string{"MOLTBOT_GATEWAY_TOKEN", "CF_ACCESS_AUD"}, "moltctl secrets set MOLTBOT_GATEWAY_TOKEN CF_ACCESS_AUD", 0},
		{[]string{"ANTHROPIC_API_KEY (or another AI provider)"}, "moltctl secrets set ANTHROPIC_API_KEY", 1},
		{[]string{"…"}, "", 0},
		{nil, "", 0},
	} {
		cmd, alts := SetCommand(tt.in)
		if cmd != tt.cmd || len(alts) != tt.alts {
			t.Errorf("SetCommand(%q) = %q, %q; want %q and %d alternative(s)", tt.in, cmd, alts, tt.cmd, tt.alts)
		}
		if strings.ContainsAny(cmd, ",…+()") {
			t.Errorf("SetCommand(%q) = %q: not a command that runs as written", tt.in, cmd)
		}
	}
}
