package initcmd

import (
	"fmt"

	"github.com/moltctl/moltctl/pkg/deploy"
)

// The container's cost comes from deploy.EstimateCost, the one model that
// deploy --dry-run, the deploy confirmation, init and the docs all use:
// moltworker's ~$34.50 a month for a standard-1 container running 24/7,
// and, with a sleep policy, a few hours of use a day plus one idle tail.
// The Workers Paid plan ($5/month) comes on top whatever the policy.

// instanceType is what init prices: moltworker's wrangler.jsonc asks for it.
const instanceType = "standard-1"

// defaultSleep is the cheapest offered policy: a personal assistant is idle
// most of the day, and a cold start costs a minute or two, not money.
const defaultSleep = "10m"

// SleepChoice is one sleep policy the form offers.
type SleepChoice struct {
	// Value is SANDBOX_SLEEP_AFTER.
	Value string
	// Why describes the trade-off.
	Why string
}

// sleepChoices are the offered policies, cheapest last.
var sleepChoices = []SleepChoice{
	{"never", "always on, never a cold start"},
	{"1h", "sleeps after 1 h idle"},
	{"30m", "sleeps after 30 min idle"},
	{"10m", "sleeps after 10 min idle"},
}

// HourlyCost is the assumed cost of one hour of a running standard-1 container.
func HourlyCost() float64 {
	r, _ := deploy.HourlyRate(instanceType)
	return r
}

// sleepCost is the monthly estimate for value, with its assumption.
func sleepCost(value string) (usd float64, known bool, text string) {
	c, err := deploy.EstimateCost(instanceType, value)
	if err != nil {
		return 0, false, fmt.Sprintf("~$%.3f per hour awake", HourlyCost())
	}
	return c.MonthlyUSD, true, fmt.Sprintf("~$%.2f/month (%s)", c.MonthlyUSD, c.Assumption)
}

// sleepLabel is the form's label for a choice: value, cost, trade-off.
func sleepLabel(c SleepChoice) string {
	usd, _, _ := sleepCost(c.Value)
	return fmt.Sprintf("%-5s  %-14s  %s", c.Value, fmt.Sprintf("~$%.2f/month", usd), c.Why)
}
