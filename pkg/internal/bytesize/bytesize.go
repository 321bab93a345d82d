// Package bytesize formats byte counts for people, in the units of whatever
// the number is compared with: SI (1000) for image and instance sizes, as
// docker and Cloudflare print them; IEC (1024) for disk thresholds set in GiB.
package bytesize

import "fmt"

// SI formats n as "12.3 MB".
func SI(n int64) string { return format(n, 1000, "kMGTPE", "B") }

// IEC formats n as "4.0 GiB".
func IEC(n int64) string { return format(n, 1024, "KMGTPE", "iB") }

func format(n, unit int64, prefixes, suffix string) string {
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := unit, 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %c%s", float64(n)/float64(div), prefixes[exp], suffix)
}
