package engine

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/textproto"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/idvmock/idvmock/internal/edit"
	"github.com/idvmock/idvmock/scenarios"
)

// header is the value of a header of the request; "" without one, or without headers.
func (r Request) header(name string) string {
	if r.Header == nil {
		return ""
	}
	return r.Header.Get(name)
}

// matches reports whether the request has everything the rule asks for.
func (m matcher) matches(req *Request) bool { return len(m.misses(req)) == 0 }

// misses lists what the request lacks for the rule, in words; empty when it matches.
func (m matcher) misses(req *Request) []string {
	var out []string
	s := m.spec
	if s.Operation != "" && s.Operation != req.Operation {
		out = append(out, fmt.Sprintf("operation is %s, the rule wants %s", req.Operation, s.Operation))
	}
	hasUserMatcher := s.UserID != "" || s.UserIDGlob != "" || s.UserIDRegex != ""
	switch {
	case hasUserMatcher && req.UserID == "":
		out = append(out, "the request has no userId")
	case s.UserID != "" && s.UserID != req.UserID:
		out = append(out, userIDDifference(req.UserID, s.UserID))
	case s.UserIDGlob != "" && !globMatch(s.UserIDGlob, req.UserID):
		out = append(out, fmt.Sprintf("userId %q does not match the glob %q", req.UserID, s.UserIDGlob))
	case m.regex != nil && !m.regex.MatchString(req.UserID):
		out = append(out, fmt.Sprintf("userId %q does not match the regex %q", req.UserID, s.UserIDRegex))
	}
	if s.SolutionCode != "" && s.SolutionCode != req.SolutionCode {
		out = append(out, fmt.Sprintf("solutionCode is %q, the rule wants %q", req.SolutionCode, s.SolutionCode))
	}
	if len(s.Regions) > 0 && !slices.Contains(s.Regions, req.Region) {
		out = append(out, fmt.Sprintf("region is %s, the rule wants %s", req.Region, strings.Join(s.Regions, " or ")))
	}
	for _, name := range sortedKeys(s.Headers) {
		if got := req.header(name); got != s.Headers[name] {
			if scenarios.SecretHeader(name) {
				out = append(out, fmt.Sprintf("header %s is not the value the rule wants", textproto.CanonicalMIMEHeaderKey(name)))
				continue
			}
			out = append(out, fmt.Sprintf("header %s is %q, the rule wants %q", textproto.CanonicalMIMEHeaderKey(name), got, s.Headers[name]))
		}
	}
	return out
}

// globMatch matches a glob where * is any run of characters (slashes too) and ? one.
func globMatch(pattern, s string) bool {
	ok, _ := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(s, "/", "\x00"))
	return ok
}

// Decision is what the rules decide for a request before it is answered.
type Decision struct {
	Rule  *Rule                 // the first rule that matches, or nil
	Delay time.Duration         // latency faults that fired, summed
	Fault *Fault                // the terminal fault that fired, or nil
	Fired []scenarios.FaultKind // every fault that fired, latency included, for the journal
}

// drawFaults draws the faults of r, the first rule that matches. hit is the rule's match count,
// so that draws are a pure function of the seed, the rule and how often it matched.
func drawFaults(seed int64, r *Rule, hit uint64) Decision {
	d := Decision{Rule: r}
	for i, f := range r.Faults {
		if draw(seed, r.Name, i, hit, 0) >= f.Probability {
			continue
		}
		d.Fired = append(d.Fired, f.Kind)
		if !f.Terminal() {
			d.Delay += f.Min + time.Duration(draw(seed, r.Name, i, hit, 1)*float64(f.Max-f.Min))
			continue
		}
		if d.Fault == nil {
			fault := f
			d.Fault = &fault
		}
	}
	return d
}

// draw returns a number in [0, 1) that depends only on its arguments.
func draw(seed int64, rule string, fault int, hit uint64, purpose int) float64 {
	h := fnv.New64a()
	var buf [8]byte
	for _, v := range []uint64{uint64(seed), uint64(fault), hit, uint64(purpose)} {
		binary.LittleEndian.PutUint64(buf[:], v)
		h.Write(buf[:])
	}
	h.Write([]byte(rule))
	x := h.Sum64()
	// fnv's low bits mix poorly for close inputs: finish with a splitmix64 step.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// NearMiss is a user or rule that came close to answering a request that matched nothing.
type NearMiss struct {
	Kind        string   `json:"kind"` // user or rule
	Name        string   `json:"name"`
	Differences []string `json:"differences"`
	distance    int
}

// maxNearMissEdits bounds how far a near miss may be from the requested userId: typos are a
// few edits away, and a bound keeps the search cheap for any userId a client invents.
const maxNearMissEdits = edit.MaxEdits

// maxNearMissCandidates bounds how many declared users one unmatched request compares.
const maxNearMissCandidates = 256

// userIDDifference says how a requested userId differs from a declared one.
func userIDDifference(got, want string) string {
	if strings.EqualFold(got, want) {
		return fmt.Sprintf("userId %q is not %q: userIds are case-sensitive", got, want)
	}
	d, ok := edit.Distance(strings.ToLower(got), strings.ToLower(want), maxNearMissEdits)
	switch {
	case !ok:
		return fmt.Sprintf("userId %q is not %q (more than %d edits away)", got, want, maxNearMissEdits)
	case d == 1:
		return fmt.Sprintf("userId %q is not %q (1 edit away)", got, want)
	}
	return fmt.Sprintf("userId %q is not %q (%d edits away)", got, want, d)
}

// nearMissLimit is how many edits away a declared userId may be to count as a near miss.
func nearMissLimit(id string) int { return min(max(3, len(id)/2), maxNearMissEdits) }

// nearMisses lists the users and rules that came closest to an unmatched request, closest
// first, at most limit. The set is immutable: this runs without the engine's lock, and its
// work is bounded (users of a length near the request's only, each compared within
// maxNearMissEdits, at most maxNearMissCandidates of them).
func (s *Set) nearMisses(req *Request, limit int) []NearMiss {
	var out []NearMiss
	lower := strings.ToLower(req.UserID)
	compared := 0
	if u := s.users[req.UserID]; u != nil && len(u.Regions) > 0 && !slices.Contains(u.Regions, req.Region) {
		out = append(out, NearMiss{Kind: "user", Name: u.ID, distance: 1,
			Differences: []string{fmt.Sprintf("user %s is visible on %s only; the request came to %s", u.ID, strings.Join(u.Regions, ", "), req.Region)}})
	}
	for l := max(0, len(lower)-maxNearMissEdits); l <= len(lower)+maxNearMissEdits && compared < maxNearMissCandidates; l++ {
		for _, u := range s.byLength[l] {
			if compared++; compared > maxNearMissCandidates {
				break
			}
			if nm, ok := userNearMiss(req, lower, u); ok {
				out = append(out, nm)
			}
		}
	}
	for _, r := range s.rules {
		if r.Profile == nil {
			continue // a rule without an answer could not have answered
		}
		misses := r.match.misses(req)
		if len(misses) > 0 && len(misses) <= 2 {
			out = append(out, NearMiss{Kind: "rule", Name: r.Name, Differences: misses, distance: 2 * len(misses)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].distance != out[j].distance {
			return out[i].distance < out[j].distance
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// userNearMiss says how user u differs from the request, when it is a near miss: another
// userId a few edits away (the same userId on another region is found apart).
func userNearMiss(req *Request, lower string, u *User) (NearMiss, bool) {
	if u.ID == req.UserID {
		return NearMiss{}, false
	}
	d, ok := edit.Distance(lower, u.lower, nearMissLimit(u.ID))
	if !ok {
		return NearMiss{}, false
	}
	diffs := []string{userIDDifference(req.UserID, u.ID)}
	d = max(d, 1)
	if len(u.Regions) > 0 && !slices.Contains(u.Regions, req.Region) {
		diffs = append(diffs, fmt.Sprintf("user %s is visible on %s only; the request came to %s", u.ID, strings.Join(u.Regions, ", "), req.Region))
		d++
	}
	return NearMiss{Kind: "user", Name: u.ID, Differences: diffs, distance: d}, true
}

// firstRule is the first rule that matches req, or nil. Rules of delivery faults are not
// tried: they act on deliveries only (firstDeliveryRule).
func (s *Set) firstRule(req *Request) *Rule {
	for _, r := range s.rules {
		if !r.Delivery && r.match.matches(req) {
			return r
		}
	}
	return nil
}

// firstDeliveryRule is the first rule of delivery faults that matches a delivery, or nil.
func (s *Set) firstDeliveryRule(req *Request) *Rule {
	for _, r := range s.rules {
		if r.Delivery && r.match.matches(req) {
			return r
		}
	}
	return nil
}
