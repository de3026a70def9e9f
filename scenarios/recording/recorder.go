// Package recording writes the vendor's answers as scenario files that `idvmock serve
// --scenarios DIR` replays, personal data masked. `idvmock proxy --record` plugs a Recorder
// into the validating proxy of package contract (it is a contract.Recorder).
package recording

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

// Recorder writes the answers of Get Latest Session Result as scenario files that
// `idvmock serve --scenarios DIR` replays: one file per userId, holding the latest answer under
// each solution code asked, with personal data masked. Answers other than SUCCESS are not
// recorded (the mock answers unknown users the same way without a file).
//
// What is personal is marked in openapi.yaml (x-idvmock-personal on the schemas of the Get
// Result object); a masked value becomes a placeholder keyed with a secret drawn for each
// Recorder and never written: the same value gets the same placeholder within one run, and
// the placeholders of one run say nothing about those of another, nor about the values. Files
// are written 0600; a folder the Recorder creates is 0700. A Recorder is safe for concurrent
// use.
type Recorder struct {
	dir     string
	regions []string // the upstream's region, when it is one of the vendor's hosts
	source  string
	now     func() time.Time
	builtin []*scenarios.File // what serve loads under a recording, to lint it against
	codes   []string          // the solution codes serve accepts without a recording: 101 first
	mask    masker

	mu    sync.Mutex
	users map[string]*recordedUser
	asked map[string]bool // the solution codes of the answers recorded, for any user
}

type recordedUser struct {
	profileStatus string
	sessions      map[string]recordedSession // by solution code; "": asked without one
}

type recordedSession struct {
	at     time.Time
	result map[string]any
}

// DirError is a folder that cannot be recorded into: a file, or one that cannot be created.
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string { return e.Dir + ": " + e.Err.Error() }
func (e *DirError) Unwrap() error { return e.Err }

// NewRecorder records into dir, created 0700 if it does not exist (a folder that exists keeps
// its mode; the files are 0600 whatever it is): a folder it cannot record into is a
// *DirError. region is the upstream's region name ("" when the upstream is not one of the
// vendor's regional hosts); source names the upstream in the files' header.
func NewRecorder(dir, region, source string) (*Recorder, error) {
	if err := makePrivateDir(dir); err != nil {
		return nil, &DirError{Dir: dir, Err: err}
	}
	builtin, err := files.Builtin()
	if err != nil {
		return nil, err
	}
	set, err := engine.New(0, builtin...)
	if err != nil {
		return nil, err
	}
	schema, err := getResultSchema()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("drawing the masking key: %w", err)
	}
	codes := []string{scenarios.DefaultSolutionCode}
	for _, c := range set.SolutionCodes() {
		if c != scenarios.DefaultSolutionCode {
			codes = append(codes, c)
		}
	}
	r := &Recorder{dir: dir, source: source, now: time.Now, builtin: builtin, codes: codes,
		mask: masker{key: key, schema: schema}, users: map[string]*recordedUser{}, asked: map[string]bool{}}
	if region != "" {
		r.regions = []string{region}
	}
	return r, nil
}

// makePrivateDir creates dir 0700 when it does not exist. An existing folder keeps its mode:
// it may be shared, and the files written in it are 0600 anyway.
func makePrivateDir(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case err == nil && !info.IsDir():
		return errors.New("it is a file, not a folder: give a folder to record into")
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the folder: %w", err)
	}
	return os.Chmod(dir, 0o700) // exactly 0700, whatever the umask
}

// Record records one answer: op is the operationId of the request (only idvmock.OpGetLatest
// is recorded), query the request's query (its userId and solutionCode), status the answer's
// HTTP status and envelope its body decoded, numbers as json.Number; envelope is not changed.
// Record returns the file written, "" when the answer is not one to record, or why the answer
// cannot be replayed. A file with an error means the answer was recorded but an earlier one
// of the user was dropped; the error says why.
func (r *Recorder) Record(op string, query url.Values, status int, envelope map[string]any) (string, error) {
	if op != idvmock.OpGetLatest || status != 200 || envelope["code"] != "SUCCESS" {
		return "", nil
	}
	userID := query.Get("userId")
	data, _ := envelope["data"].(map[string]any)
	result, _ := data["result"].(map[string]any)
	profileStatus, _ := data["profileStatus"].(string)
	if userID == "" || result == nil || profileStatus == "" {
		return "", nil
	}
	code := query.Get("solutionCode") // "": the latest session of any code
	if countValues(result, maxRecordedValues) > maxRecordedValues {
		return "", fmt.Errorf("userId %s: not recorded: the result has over %d JSON values (a Get Result object has a few dozen), too many to write and lint as a scenario", userID, maxRecordedValues)
	}
	masked := plainNumbers(r.Mask(result)).(map[string]any)

	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.users[userID]
	if u == nil {
		u = &recordedUser{sessions: map[string]recordedSession{}}
		r.users[userID] = u
	}
	prev := *u
	prev.sessions = maps.Clone(u.sessions)
	u.profileStatus = profileStatus
	u.sessions[code] = recordedSession{at: r.now().UTC().Truncate(time.Second), result: masked}
	var note error
	noCode, ok := r.codeOfNoCode(u)
	if !ok {
		why := fmt.Errorf("an answer to a request without solutionCode does not say its solution code, and userId %s already has an answer under every code a replay accepts (%s): "+
			"filing it under a made-up code would make a replay accept that code", userID, strings.Join(r.validCodes(), ", "))
		if code == "" {
			*u = prev
			return "", fmt.Errorf("%w; not recorded: ask with solutionCode to record it", why)
		}
		delete(u.sessions, "")
		note = fmt.Errorf("%w; the earlier answer without solutionCode was dropped from the file", why)
	}
	path, err := r.write(userID, u, noCode)
	if err != nil {
		*u = prev
		return "", err
	}
	if code != "" {
		r.asked[code] = true
	}
	return path, note
}

// maxRecordedValues bounds the values of a recorded result: written, parsed back and linted,
// each costs a few KiB.
const maxRecordedValues = 2_000

// countValues counts the values of a decoded JSON value, stopping past limit.
func countValues(v any, limit int) int {
	n := 1
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if n += countValues(e, limit-n); n > limit {
				break
			}
		}
	case []any:
		for _, e := range x {
			if n += countValues(e, limit-n); n > limit {
				break
			}
		}
	}
	return n
}

// validCodes are the solution codes a replay of the recordings accepts whatever the files
// say: 101, the built-in ones, and those of the answers recorded so far.
func (r *Recorder) validCodes() []string {
	out := slices.Clone(r.codes)
	for _, c := range slices.Sorted(maps.Keys(r.asked)) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// codeOfNoCode picks the solution code under which the user's answer to a request without
// solutionCode is filed ("" when there is none): the code of a recorded answer about the same
// session, else the first valid code the user has no answer under. A made-up code would
// become one the replay accepts. ok is false when every valid code is taken.
func (r *Recorder) codeOfNoCode(u *recordedUser) (code string, ok bool) {
	latest, has := u.sessions[""]
	if !has {
		return "", true
	}
	if sig, _ := latest.result["signatureId"].(string); sig != "" {
		for _, c := range slices.Sorted(maps.Keys(u.sessions)) {
			if c != "" && u.sessions[c].result["signatureId"] == sig {
				return c, true
			}
		}
	}
	for _, c := range r.validCodes() {
		if _, taken := u.sessions[c]; !taken {
			return c, true
		}
	}
	return "", false
}
