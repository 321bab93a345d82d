package initcmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/huh"

	"github.com/moltctl/moltctl/pkg/cmdutil"
	"github.com/moltctl/moltctl/pkg/iostreams"
)

// runForm asks every question on the terminal, starting from a (defaults,
// flags and the existing manifest), and writes the answers back into a.
// accountID is the chosen account when the token sees several.
func runForm(io *iostreams.IOStreams, a *Answers, accounts []Account, accountID *string) error {
	var groups []*huh.Group

	if len(accounts) > 1 {
		opts := make([]huh.Option[string], 0, len(accounts))
		for _, acc := range accounts {
			opts = append(opts, huh.NewOption(fmt.Sprintf("%s (%s)", acc.Name, acc.ID), acc.ID))
		}
		if *accountID == "" {
			*accountID = accounts[0].ID
		}
		groups = append(groups, huh.NewGroup(
			huh.NewSelect[string]().Title("Which Cloudflare account?").
				Description("The token can see several accounts. Deploys go to the one you pick\n(export CLOUDFLARE_ACCOUNT_ID or pass --account to skip this question).").
				Options(opts...).Value(accountID),
		))
	}

	if a.Provider == "" {
		a.Provider = ProviderAnthropic
	}
	popts := make([]huh.Option[string], 0, len(providerNames))
	for _, p := range providerNames {
		popts = append(popts, huh.NewOption(providerLabel[p], p))
	}
	groups = append(groups, huh.NewGroup(
		huh.NewSelect[string]().Title("Which AI provider should the assistant use?").
			Description("moltctl reads the key from the environment when it deploys; it never writes the key to disk.").
			Options(popts...).Value(&a.Provider),
	))

	if a.GatewayAccountID == "" {
		a.GatewayAccountID = *accountID
	}
	groups = append(groups, huh.NewGroup(
		huh.NewInput().Title("AI Gateway: account ID").
			Description("The account the gateway is in (32 hex characters). The API key is read from CLOUDFLARE_AI_GATEWAY_API_KEY.").
			Value(&a.GatewayAccountID).Validate(validateHexID),
		huh.NewInput().Title("AI Gateway: gateway ID").
			Description("The gateway's name in AI → AI Gateway in the dashboard.").
			Value(&a.GatewayID).Validate(validateNonEmpty("the gateway ID")),
	).WithHideFunc(func() bool { return a.Provider != ProviderGateway }))

	copts := make([]huh.Option[string], 0, len(channelNames))
	for _, c := range channelNames {
		copts = append(copts, huh.NewOption(channelLabel[c], c))
	}
	groups = append(groups, huh.NewGroup(
		huh.NewMultiSelect[string]().Title("Which chat channels?").
			Description("x or space to select, enter to go on. The Control UI in the browser is always there.").
			Options(copts...).Value(&a.Channels),
	))

	groups = append(groups, huh.NewGroup(
		huh.NewConfirm().Title("Keep the assistant's data in R2?").
			Description("Paired devices, settings and the workspace survive restarts and sleep.\nmoltctl creates the bucket and its token. R2's free tier covers a personal assistant.").
			Affirmative("Yes").Negative("No").Value(&a.R2),
	))

	allow := strings.Join(append(append([]string(nil), a.Allow...), a.AllowDomains...), ", ")
	groups = append(groups, huh.NewGroup(
		huh.NewInput().Title("Who may open the assistant? (Cloudflare Access)").
			Description("Email addresses, or a domain for everyone at it, separated by commas:\nme@example.com, example.com").
			Placeholder("me@example.com").Value(&allow).Validate(validateAllowInput),
	))

	if a.SleepAfter == "" {
		a.SleepAfter = "never"
	}
	sopts := make([]huh.Option[string], 0, len(sleepChoices)+1)
	custom := true
	for _, c := range sleepChoices {
		sopts = append(sopts, huh.NewOption(sleepLabel(c), c.Value))
		if c.Value == a.SleepAfter {
			custom = false
		}
	}
	if custom {
		_, _, cost := sleepCost(a.SleepAfter)
		sopts = append(sopts, huh.NewOption(fmt.Sprintf("%-5s  %s (current)", a.SleepAfter, cost), a.SleepAfter))
	}
	groups = append(groups, huh.NewGroup(
		huh.NewSelect[string]().Title("When should the container sleep?").
			Description(fmt.Sprintf("Cost of the container alone, at ~$%.3f per hour awake (standard-1); the\nWorkers Paid plan's $5/month comes on top. A cold start takes 1–2 minutes.", HourlyCost)).
			Options(sopts...).Value(&a.SleepAfter),
	))

	form := huh.NewForm(groups...).WithInput(io.In).WithOutput(io.ErrOut).WithShowHelp(true)
	if err := form.Run(); err != nil {
		if errors.Is(err, huh.ErrUserAborted) {
			return cmdutil.ErrCancelled
		}
		return fmt.Errorf("ask the questions: %w", err)
	}
	emails, domains, err := parseAllow([]string{allow})
	if err != nil {
		return err
	}
	a.Allow, a.AllowDomains = emails, domains
	return nil
}

func validateHexID(s string) error {
	if !hexIDRE.MatchString(strings.TrimSpace(s)) {
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
