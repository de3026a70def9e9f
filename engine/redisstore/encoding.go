package redisstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock/engine"
)

// The keys under the prefix, in the order every script gets them as KEYS (scripts.go's
// prelude names them P, PO, PK, SS, SO, US, SU, SB, IN, HITS, SEQ, TOK).
const (
	keyProgress       = iota // hash: progress field → progress
	keyProgressOrder         // sorted set: the fields of pattern progress, by first use
	keyProgressByUser        // hash: userId → its progress fields (a list)
	keyStarted               // hash: signatureId → started session
	keyStartedOrder          // sorted set: signatureIds, by when they started
	keyStartedByUser         // hash: userId → its signatureIds, oldest first (a list)
	keyStatus                // hash: userId → the status a PASS gave it
	keyStartedBytes          // string: the started sessions' size in all
	keyInactive              // sorted set: deactivated userIds, by deactivation
	keyHits                  // hash: rule → matches
	keySequence              // string: sessions started so far
	keyTokens                // sorted set: tokens, by issue
	keyCount
)

var keyNames = [keyCount]string{"progress", "progress:order", "progress:byuser", "started", "started:order",
	"started:byuser", "started:status", "started:bytes", "inactive", "hits", "sequence", "tokens"}

// tokenKeys is what a token's own key starts with, after the prefix.
const tokenKeys = "token:"

// errCorrupt marks a value under the prefix that this store did not write.
var errCorrupt = errors.New("a value under the prefix is not one this store wrote (another program's keys, or another version's?)")

// progressField is a progress key as a field of the progress hash: "<len>|<kind><len>|<name><userId>",
// which any bytes in kind, name and userId leave unambiguous.
func progressField(k engine.ProgressKey) string {
	return strconv.Itoa(len(k.Kind)) + "|" + k.Kind + strconv.Itoa(len(k.Name)) + "|" + k.Name + k.UserID
}

// parseField reads a progress field back.
func parseField(f string) (engine.ProgressKey, error) {
	kind, rest, ok := cutCounted(f)
	if !ok {
		return engine.ProgressKey{}, fmt.Errorf("%w: progress field %q", errCorrupt, f)
	}
	name, uid, ok := cutCounted(rest)
	if !ok {
		return engine.ProgressKey{}, fmt.Errorf("%w: progress field %q", errCorrupt, f)
	}
	return engine.ProgressKey{Kind: kind, Name: name, UserID: uid}, nil
}

// cutCounted cuts "<len>|<bytes>" off the front of s.
func cutCounted(s string) (head, rest string, ok bool) {
	n, after, ok := strings.Cut(s, "|")
	l, err := strconv.Atoi(n)
	if !ok || err != nil || l < 0 || l > len(after) {
		return "", "", false
	}
	return after[:l], after[l:], true
}

// timeArgs is t as Unix seconds and nanoseconds, both "" when t is zero.
func timeArgs(t time.Time) (sec, nsec string) {
	if t.IsZero() {
		return "", ""
	}
	return strconv.FormatInt(t.Unix(), 10), strconv.Itoa(t.Nanosecond())
}

// formatProgress is a progress as the progress hash keeps it:
// "<state>|<calls>|<since s>|<since ns>|<hash>".
func formatProgress(p engine.Progress) string {
	sec, nsec := timeArgs(p.Since)
	return fmt.Sprintf("%d|%d|%s|%s|%s", p.State, p.Calls, sec, nsec, p.Hash)
}

func parseProgress(v string) (engine.Progress, error) {
	parts := strings.SplitN(v, "|", 5)
	if len(parts) != 5 {
		return engine.Progress{}, fmt.Errorf("%w: progress %q", errCorrupt, v)
	}
	state, err1 := strconv.Atoi(parts[0])
	calls, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return engine.Progress{}, fmt.Errorf("%w: progress %q", errCorrupt, v)
	}
	p := engine.Progress{State: state, Calls: calls, Hash: parts[4]}
	if parts[2] != "" {
		sec, err1 := strconv.ParseInt(parts[2], 10, 64)
		nsec, err2 := strconv.ParseInt(parts[3], 10, 64)
		if err1 != nil || err2 != nil {
			return engine.Progress{}, fmt.Errorf("%w: progress %q", errCorrupt, v)
		}
		p.Since = time.Unix(sec, nsec).UTC()
	}
	return p, nil
}

// sessionValue is a started session as the started hash keeps it: "<size>|<len>|<userId><JSON>".
// size is the one counted against MaxStartedBytes when it was added.
func sessionValue(s engine.StartedSession, size int) (string, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d|%d|%s", size, len(s.UserID), s.UserID)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", fmt.Errorf("encoding started session %q: %w", s.Session.SignatureID, err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// parseSession reads a started session back, with its size and the userId it is kept under.
func parseSession(v string) (s engine.StartedSession, size int, uid string, err error) {
	n, rest, ok := strings.Cut(v, "|")
	size, err = strconv.Atoi(n)
	if !ok || err != nil {
		return s, 0, "", fmt.Errorf("%w: started session %.40q", errCorrupt, v)
	}
	uid, body, ok := cutCounted(rest)
	if !ok {
		return s, 0, "", fmt.Errorf("%w: started session %.40q", errCorrupt, v)
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		return s, 0, "", fmt.Errorf("%w: started session %.40q: %v", errCorrupt, v, err)
	}
	return s, size, uid, nil
}

// encodeList is a list as one hash field keeps it: "<len>:<bytes>" for each element.
func encodeList(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(strconv.Itoa(len(it)))
		b.WriteByte(':')
		b.WriteString(it)
	}
	return b.String()
}
