// Package suggest finds the known name nearest to a mistyped one, for
// "did you mean" hints.
package suggest

// Nearest returns the name in known closest to s by edit distance, when it
// is close enough to be a likely typo (at most 2 edits, fewer for short
// names), or "".
func Nearest(s string, known []string) string {
	if len(s) > 64 {
		return "" // not a typo of a short name; and keeps the cost bounded
	}
	best, bestD := "", 3
	for _, k := range known {
		limit := 2
		if len(k) <= 4 {
			limit = 1
		}
		if d := distance(s, k); d <= limit && d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance:
// a swap of two neighbouring letters ("contianers") counts as one edit.
func distance(a, b string) int {
	if len(b) > 64 {
		return len(b)
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
