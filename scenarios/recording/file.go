package recording

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

// write renders a user's scenario file, checks that serve would load it, and writes it;
// noCode is the code the answer asked without one is filed under (codeOfNoCode).
func (r *Recorder) write(userID string, u *recordedUser, noCode string) (string, error) {
	text, err := r.render(userID, u, noCode)
	if err == nil {
		err = r.checkReplayable(userID, text)
	}
	if err != nil {
		return "", fmt.Errorf("userId %s: the answer cannot be replayed, not recorded: %w", userID, err)
	}
	path := filepath.Join(r.dir, fileName(userID))
	if err := writePrivate(path, text); err != nil {
		return "", fmt.Errorf("userId %s: not recorded: %w", userID, err)
	}
	return path, nil
}

// render writes a user's scenario file: a header saying where it comes from, then the
// scenario file declaring the user.
func (r *Recorder) render(userID string, u *recordedUser, noCode string) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Recorded by idvmock proxy from %s; personal data masked.\n", r.source)
	fmt.Fprintf(&buf, "# Replay: idvmock serve --scenarios %s\n", r.dir)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	file := scenarios.File{Users: map[string]scenarios.UserSpec{userID: r.userSpec(u, noCode)}}
	if err := enc.Encode(file); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// userSpec declares a recorded user: its profile status and one verbatim session per solution
// code answered, the latest answer last.
func (r *Recorder) userSpec(u *recordedUser, noCode string) scenarios.UserSpec {
	codes := orderedCodes(u, noCode)
	codeOf := func(c string) string {
		if c == "" {
			return noCode
		}
		return c
	}
	spec := scenarios.UserSpec{Regions: r.regions}
	spec.ProfileStatus = idvmock.ProfileStatus(u.profileStatus)
	passed := false
	for _, s := range u.sessions {
		passed = passed || s.result["overallResult"] == "PASS"
	}
	if !passed && u.profileStatus != "INIT" && len(codes) > 0 {
		// An established profile passed once, in a session older than those the answers
		// showed; lint requires it, so an older generated PASS stands for it.
		first := u.sessions[codes[0]].at.Add(-24 * time.Hour)
		spec.Sessions = append(spec.Sessions, scenarios.SessionSpec{SolutionCode: codeOf(codes[0]),
			CreatedAt: &scenarios.Timestamp{Time: first}, State: scenarios.StateFinished, OverallResult: idvmock.VerdictPass})
	}
	for i, c := range codes {
		s := u.sessions[c]
		at := s.at.Add(time.Duration(i) * time.Millisecond) // distinct, in order, even within a second
		spec.Sessions = append(spec.Sessions, verbatimSession(codeOf(c), at, s.result))
	}
	return spec
}

// orderedCodes are the solution codes of a user's sessions, oldest first and the latest of
// any code ("") last: the newest answers. When the latest is the session recorded under
// noCode too, it is kept once, as the latest.
func orderedCodes(u *recordedUser, noCode string) []string {
	codes := make([]string, 0, len(u.sessions))
	for c := range u.sessions {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		a, b := u.sessions[codes[i]], u.sessions[codes[j]]
		switch {
		case (codes[i] == "") != (codes[j] == ""):
			return codes[j] == ""
		case !a.at.Equal(b.at):
			return a.at.Before(b.at)
		}
		return codes[i] < codes[j]
	})
	if _, ok := u.sessions[""]; ok {
		if _, same := u.sessions[noCode]; same {
			codes = slices.DeleteFunc(codes, func(c string) bool { return c == noCode })
		}
	}
	return codes
}

// verbatimSession declares a recorded answer: the Get Result object as it came (masked), with
// the keys a replay checks it against.
func verbatimSession(code string, at time.Time, result map[string]any) scenarios.SessionSpec {
	s := scenarios.SessionSpec{SolutionCode: code, CreatedAt: &scenarios.Timestamp{Time: at}, Verbatim: true, Result: result}
	s.SignatureID, _ = result["signatureId"].(string)
	overall, _ := result["overallResult"].(string)
	switch {
	case overall != "":
		s.State, s.OverallResult = scenarios.StateFinished, idvmock.Verdict(overall)
		s.ErrorCode, _ = result["errorCode"].(string)
	case result["submissionCompleted"] == true:
		s.State = scenarios.StateSubmitted
	default:
		s.State = scenarios.StateInProgress
	}
	return s
}

// checkReplayable lints a recorded file as serve would load it.
func (r *Recorder) checkReplayable(userID string, text []byte) error {
	f, err := files.Parse(fileName(userID), bytes.NewReader(text))
	if err != nil {
		return err
	}
	_, err = engine.New(0, append(slices.Clip(r.builtin), f)...)
	return err
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// fileName is a file name for userID: the userId itself when it is safe, else a cleaned
// form with a hash, so that two userIds never share a file.
func fileName(userID string) string {
	clean := unsafeFileChars.ReplaceAllString(userID, "_")
	if clean != userID || strings.HasPrefix(clean, ".") || len(clean) > 100 {
		sum := sha256.Sum256([]byte(userID))
		clean = fmt.Sprintf("%.60s-%s", strings.TrimLeft(clean, "."), hex.EncodeToString(sum[:4]))
	}
	return clean + ".yaml"
}

// writePrivate writes path 0600, through a temporary file renamed over it, so that serve
// never loads half a file.
func writePrivate(path string, text []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp") // 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(text)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
