package edit

import "testing"

// The banded edit distance agrees with the plain one wherever the plain one is within the
// bound, and says "farther" everywhere else.
func TestDistanceAgreesWithLevenshtein(t *testing.T) {
	plain := func(a, b string) int {
		prev := make([]int, len(b)+1)
		for j := range prev {
			prev[j] = j
		}
		for i := 1; i <= len(a); i++ {
			cur := make([]int, len(b)+1)
			cur[0] = i
			for j := 1; j <= len(b); j++ {
				cost := 1
				if a[i-1] == b[j-1] {
					cost = 0
				}
				cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			}
			prev = cur
		}
		return prev[len(b)]
	}
	words := []string{"", "a", "user_active", "user_actve", "USER_ACTIVE", "resu_active", "user_activeeeeeeee", "qa-17", "qa-71", "xyz", "user_active_2"}
	for _, a := range words {
		for _, b := range words {
			for k := 0; k <= 8; k++ {
				want := plain(a, b)
				d, ok := Distance(a, b, k)
				if ok != (want <= k) || (ok && d != want) {
					t.Errorf("(%q, %q, k=%d) = %d, %v; plain distance %d", a, b, k, d, ok, want)
				}
			}
		}
	}
}

func TestClosestOffersOnlyNearCandidates(t *testing.T) {
	if best, d := Closest("sesions", []string{"sessions", "scenario", "regions"}); best != "sessions" || d != 1 {
		t.Errorf("sesions: %q at %d", best, d)
	}
	if best, d := Closest("profileStatus", []string{"PROFILESTATUS"}); best != "PROFILESTATUS" || d != 0 {
		t.Errorf("case-insensitive: %q at %d", best, d)
	}
	if best, _ := Closest("completely-different-key", []string{"sessions"}); best != "" {
		t.Errorf("a far candidate was offered: %q", best)
	}
}
