package initcmd

import "fmt"

// The container's cost. moltworker's README estimates a standard-1
// instance (1/2 vCPU, 4 GiB memory, 8 GB disk) at about $34.50 a month
// running 24/7, and about $5–6 a month of compute at 4 hours a day.
// Dividing the first by the hours in a month (365 × 24 / 12 = 730) gives
// the rate every estimate here uses: $34.50 / 730 h ≈ $0.0473 per hour the
// container is awake. 4 h/day × 30.4 days × $0.0473 ≈ $5.75, inside the
// README's $5–6. The Workers Paid plan ($5/month) comes on top and is the
// same whatever the policy.
const (
	monthlyAlwaysOn = 34.50
	hoursPerMonth   = 730.0
	daysPerMonth    = hoursPerMonth / 24
)

// HourlyCost is the assumed cost of one hour of a running standard-1 container.
const HourlyCost = monthlyAlwaysOn / hoursPerMonth

// SleepChoice is one sleep policy the form offers.
type SleepChoice struct {
	// Value is SANDBOX_SLEEP_AFTER.
	Value string
	// AwakeHours is the hours a day the container is assumed to run.
	AwakeHours float64
	// Why describes the trade-off.
	Why string
}

// defaultSleep is the cheapest offered policy: a personal assistant is idle
// most of the day, and a cold start costs a minute or two, not money.
const defaultSleep = "10m"

// sleepChoices are the offered policies, cheapest last.
var sleepChoices = []SleepChoice{
	{"never", 24, "always on, never a cold start"},
	{"1h", 8, "sleeps after 1 h idle; assumes ~8 h/day awake"},
	{"30m", 6, "sleeps after 30 min idle; assumes ~6 h/day awake"},
	{"10m", 4, "sleeps after 10 min idle; assumes ~4 h/day awake"},
}

// MonthlyCost estimates the container's monthly cost for awake hours a day.
func MonthlyCost(awakeHoursPerDay float64) float64 {
	return awakeHoursPerDay * daysPerMonth * HourlyCost
}

// sleepCost is the estimate for value: the offered choice's assumption, or
// the per-hour rate for a custom duration.
func sleepCost(value string) (usd float64, known bool, text string) {
	for _, c := range sleepChoices {
		if c.Value == value {
			usd = MonthlyCost(c.AwakeHours)
			return usd, true, fmt.Sprintf("~$%.2f/month (%s)", usd, c.Why)
		}
	}
	return 0, false, fmt.Sprintf("~$%.3f per hour awake; 4 h/day ≈ $%.2f/month", HourlyCost, MonthlyCost(4))
}

// sleepLabel is the form's label for a choice: value, cost, trade-off.
func sleepLabel(c SleepChoice) string {
	return fmt.Sprintf("%-5s  %-14s  %s", c.Value, fmt.Sprintf("~$%.2f/month", MonthlyCost(c.AwakeHours)), c.Why)
}
