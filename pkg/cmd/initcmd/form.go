package initcmd

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moltctl/moltctl/pkg/cfapi"
	"github.com/moltctl/moltctl/pkg/prompt"
)

// runForm asks every question on the terminal, starting from a (defaults,
// flags and the existing manifest), and writes the answers back into a.
// accountID is the chosen account when the token sees several. Each
// question's explanation goes to w before it is asked.
func runForm(p prompt.Prompter, w io.Writer, a *Answers, accounts []cfapi.Account, accountID *string) error {
	if err := askAll(p, w, a, accounts, accountID); err != nil {
		return fmt.Errorf("ask the questions: %w", err)
	}
	return nil
}

func askAll(p prompt.Prompter, w io.Writer, a *Answers, accounts []cfapi.Account, accountID *string) error {
	explain := func(text string) {
		fmt.Fprintln(w)
		for _, line := range strings.Split(text, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}

	if len(accounts) > 1 {
		labels := make([]string, len(accounts))
		def := labels[0]
		for i, acc := range accounts {
			labels[i] = fmt.Sprintf("%s (%s)", acc.Name, acc.ID)
			if acc.ID == *accountID || (*accountID == "" && i == 0) {
				def = labels[i]
			}
		}
		explain("The token can see several accounts. Deploys go to the one you pick\n(export CLOUDFLARE_ACCOUNT_ID or pass --account to skip this question).")
		got, err := p.Select("Which Cloudflare account?", labels, def)
		if err != nil {
			return err
		}
		for i, l := range labels {
			if l == got {
				*accountID = accounts[i].ID
			}
		}
	}

	if a.Provider == "" {
		a.Provider = ProviderAnthropic
	}
	plabels := make([]string, len(providerNames))
	for i, name := range providerNames {
		plabels[i] = providerLabel[name]
	}
	explain("moltctl reads the key from the environment when it deploys; it never writes the key to disk.")
	got, err := p.Select("Which AI provider should the assistant use?", plabels, providerLabel[a.Provider])
	if err != nil {
		return err
	}
	for _, name := range providerNames {
		if providerLabel[name] == got {
			a.Provider = name
		}
	}

	if a.Provider == ProviderGateway {
		if a.GatewayAccountID == "" {
			a.GatewayAccountID = *accountID
		}
		explain("The account the gateway is in (32 hex characters). The API key is read from CLOUDFLARE_AI_GATEWAY_API_KEY.")
		if a.GatewayAccountID, err = p.Input("AI Gateway: account ID", a.GatewayAccountID, validateHexID); err != nil {
			return err
		}
		explain("The gateway's name in AI → AI Gateway in the dashboard.")
		if a.GatewayID, err = p.Input("AI Gateway: gateway ID", a.GatewayID, validateNonEmpty("the gateway ID")); err != nil {
			return err
		}
	}

	clabels := make([]string, len(channelNames))
	var cdefs []string
	for i, c := range channelNames {
		clabels[i] = channelLabel[c]
		for _, have := range a.Channels {
			if have == c {
				cdefs = append(cdefs, clabels[i])
			}
		}
	}
	explain("The Control UI in the browser is always there.")
	chosen, err := p.MultiSelect("Which chat channels?", clabels, cdefs)
	if err != nil {
		return err
	}
	a.Channels = []string{}
	for i, l := range clabels {
		for _, c := range chosen {
			if c == l {
				a.Channels = append(a.Channels, channelNames[i])
			}
		}
	}

	explain("Paired devices, settings and the workspace survive restarts and sleep.\nmoltctl creates the bucket and its token. R2's free tier covers a personal assistant.")
	if a.R2, err = p.Confirm("Keep the assistant's data in R2?", a.R2); err != nil {
		return err
	}

	allow := strings.Join(append(append([]string(nil), a.Allow...), a.AllowDomains...), ", ")
	explain("Email addresses, or a domain for everyone at it, separated by commas:\nme@example.com, example.com")
	if allow, err = p.Input("Who may open the assistant? (Cloudflare Access)", allow, validateAllowInput); err != nil {
		return err
	}
	emails, domains, err := parseAllow([]string{allow})
	if err != nil {
		return err
	}
	a.Allow, a.AllowDomains = emails, domains

	if a.SleepAfter == "" {
		a.SleepAfter = defaultSleep
	}
	var slabels []string
	def := ""
	for _, c := range sleepChoices {
		slabels = append(slabels, sleepLabel(c))
		if c.Value == a.SleepAfter {
			def = slabels[len(slabels)-1]
		}
	}
	if def == "" {
		_, _, cost := sleepCost(a.SleepAfter)
		slabels = append(slabels, fmt.Sprintf("%-5s  %s (current)", a.SleepAfter, cost))
		def = slabels[len(slabels)-1]
	}
	explain(fmt.Sprintf("Cost of the container alone, at ~$%.3f per hour awake (standard-1), assuming ~4 h of use a day; the\nWorkers Paid plan's $5/month comes on top. A cold start takes 1–2 minutes.", HourlyCost()))
	got, err = p.Select("When should the container sleep?", slabels, def)
	if err != nil {
		return err
	}
	if i := slices.Index(slabels, got); i >= 0 && i < len(sleepChoices) {
		a.SleepAfter = sleepChoices[i].Value
	}
	return nil
}

func validateHexID(s string) error {
	if !hexIDRE().MatchString(strings.TrimSpace(s)) {
		return errors.New("an account ID is 32 hexadecimal characters")
	}
	return nil
}

func validateNonEmpty(what string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("enter %s", what)
		}
		return nil
	}
}
