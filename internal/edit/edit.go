// Package edit measures how far two strings are apart: the basis of "did you mean" hints
// and of near misses, bounded so that any string a client sends costs little.
package edit

import (
	"math"
	"strings"
)

// MaxEdits is how many edits apart two strings may be for Closest to offer one for the other.
const MaxEdits = 8

// Closest returns the candidate nearest to s by edit distance (case-insensitive), and the
// distance. Candidates more than MaxEdits away do not count: with none nearer, the
// distance is math.MaxInt.
func Closest(s string, candidates []string) (string, int) {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d, ok := Distance(strings.ToLower(s), strings.ToLower(c), MaxEdits); ok && d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// Distance is the Levenshtein distance between a and b, in bytes, when it is at
// most k; ok is false when it is more. It costs O(len(a)·k), not O(len(a)·len(b)).
func Distance(a, b string, k int) (d int, ok bool) {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > k {
		return 0, false
	}
	const far = 1 << 30
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
		if j > k {
			prev[j] = far
		}
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-k), min(len(b), i+k)
		cur[0] = i
		if lo > 1 {
			cur[lo-1] = far
		}
		best := far
		if i <= k {
			best = i
		}
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if hi < len(b) {
			cur[hi+1] = far
		}
		if best > k {
			return 0, false
		}
		prev, cur = cur, prev
	}
	if prev[len(b)] > k {
		return 0, false
	}
	return prev[len(b)], true
}
