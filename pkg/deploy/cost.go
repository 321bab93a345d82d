package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/moltctl/moltctl/pkg/wrangler"
)

// The cost estimate starts from the figure moltworker's README gives: a
// standard-1 container running 24/7 costs about $34.50 a month. Spread
// over an average month of 730 hours that is the hourly rate below; at
// 4 hours a day (the README's example with SANDBOX_SLEEP_AFTER set) it
// gives about $5.75, the README's "$5–6". Other instance types are scaled
// by Cloudflare's list prices per second of vCPU ($0.000020), GiB of
// memory ($0.0000025) and GB of disk ($0.00000007) relative to standard-1.
// The Workers Paid plan ($5/month) is not included.
const (
	standard1Monthly = 34.50
	hoursPerMonth    = 730.0
	// SleepingHoursPerDay is the assumed daily use when the sandbox sleeps.
	SleepingHoursPerDay = 4.0
)

type instanceSize struct{ vcpu, memGiB, diskGB float64 }

var instanceTypes = map[string]instanceSize{
	"lite":       {1.0 / 16, 0.25, 2},
	"dev":        {1.0 / 16, 0.25, 2},
	"basic":      {0.25, 1, 4},
	"standard-1": {0.5, 4, 8},
	"standard-2": {1, 6, 12},
	"standard-3": {2, 8, 16},
	"standard-4": {4, 12, 20},
}

func (s instanceSize) weight() float64 {
	return s.vcpu*0.000020 + s.memGiB*0.0000025 + s.diskGB*0.00000007
}

// HourlyRate is the estimated cost of one instance-hour of instanceType
// in US dollars; false for an unknown type.
func HourlyRate(instanceType string) (float64, bool) {
	s, ok := instanceTypes[instanceType]
	if !ok {
		return 0, false
	}
	base := standard1Monthly / hoursPerMonth
	return base * s.weight() / instanceTypes["standard-1"].weight(), true
}

// CostEstimate is the plan's monthly estimate for the container.
type CostEstimate struct {
	InstanceType string  `json:"instance_type"`
	MaxInstances int     `json:"max_instances"`
	SleepAfter   string  `json:"sleep_after"`
	HourlyUSD    float64 `json:"hourly_usd"`
	HoursMonth   float64 `json:"hours_per_month"`
	MonthlyUSD   float64 `json:"monthly_usd"`
	Assumption   string  `json:"assumption"`
}

// EstimateCost estimates the container's monthly cost from its instance
// type and SANDBOX_SLEEP_AFTER ("" or "never" = always on).
func EstimateCost(instanceType, sleepAfter string) (*CostEstimate, error) {
	if instanceType == "" {
		instanceType = "lite"
	}
	rate, ok := HourlyRate(instanceType)
	if !ok {
		return nil, fmt.Errorf("unknown instance type %q", instanceType)
	}
	return estimate(instanceType, rate, sleepAfter)
}

// estimateType is EstimateCost for a named or custom instance_type; a
// custom one is priced by its resources like the named ones.
func estimateType(t wrangler.InstanceType, sleepAfter string) (*CostEstimate, error) {
	if !t.Custom() {
		return EstimateCost(t.Name, sleepAfter)
	}
	s := instanceSize{vcpu: t.VCPU, memGiB: float64(t.MemoryMiB) / 1024, diskGB: float64(t.DiskMB) / 1000}
	rate := standard1Monthly / hoursPerMonth * s.weight() / instanceTypes["standard-1"].weight()
	return estimate(t.String(), rate, sleepAfter)
}

func estimate(instanceType string, rate float64, sleepAfter string) (*CostEstimate, error) {
	sleep := strings.ToLower(strings.TrimSpace(sleepAfter))
	c := &CostEstimate{InstanceType: instanceType, MaxInstances: 1, SleepAfter: sleep, HourlyUSD: rate}
	if sleep == "" || sleep == "never" {
		c.SleepAfter = "never"
		c.HoursMonth = hoursPerMonth
		c.Assumption = "the container runs 24/7 (SANDBOX_SLEEP_AFTER is never)"
	} else {
		d, err := time.ParseDuration(sleep)
		if err != nil {
			return nil, fmt.Errorf("SANDBOX_SLEEP_AFTER %q is not a duration such as 10m or 1h", sleepAfter)
		}
		// Each day of use keeps the container up for the use plus one idle tail.
		perDay := SleepingHoursPerDay + d.Hours()
		c.HoursMonth = perDay * hoursPerMonth / 24
		c.Assumption = fmt.Sprintf("about %.0f h of use a day, then asleep after %s idle", SleepingHoursPerDay, sleep)
	}
	c.MonthlyUSD = rate * c.HoursMonth
	return c, nil
}

// String is the one-line estimate the plan shows.
func (c *CostEstimate) String() string {
	return fmt.Sprintf("~$%.2f/month for the %s container (%s; $%.4f per instance-hour; Workers Paid's $5/month not included)",
		c.MonthlyUSD, c.InstanceType, c.Assumption, c.HourlyUSD)
}
