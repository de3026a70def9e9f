package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/scenarios"
)

// Recorder writes the answers of Get Latest Session Result as scenario files that
// `idvmock serve --scenarios DIR` replays: one file per userId, holding the latest answer under
// each solution code asked, with personal data masked. Answers other than SUCCESS are not
// recorded (the mock answers unknown users the same way without a file).
type Recorder struct {
	dir     string
	regions []string // the upstream's region, when it is one of the vendor's hosts
	source  string
	now     func() time.Time
	builtin []*scenarios.File // what serve loads under a recording, to lint it against

	mu    sync.Mutex
	users map[string]*recordedUser
}

type recordedUser struct {
	profileStatus string
	sessions      map[string]recordedSession // by solution code
}

type recordedSession struct {
	at     time.Time
	result map[string]any
}

// NewRecorder records into dir (created if needed). region is the upstream's region name
// ("" when the upstream is not one of the vendor's regional hosts); source names the upstream
// in the files' header.
func NewRecorder(dir, region, source string) (*Recorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--record: %w", err)
	}
	builtin, err := scenarios.BuiltinFiles()
	if err != nil {
		return nil, err
	}
	r := &Recorder{dir: dir, source: source, now: time.Now, users: map[string]*recordedUser{}, builtin: builtin}
	if region != "" {
		r.regions = []string{region}
	}
	return r, nil
}

// Record records one exchange; it returns the file written, "" when the exchange is not one
// to record, or why the answer cannot be replayed.
func (r *Recorder) Record(op string, ex Exchange) (string, error) {
	if op != OpGetLatest || ex.Status != 200 {
		return "", nil
	}
	env, err := decodeObject(ex.Body)
	if err != nil || env["code"] != "SUCCESS" {
		return "", nil
	}
	userID := ex.Request.URL.Query().Get("userId")
	data, _ := env["data"].(map[string]any)
	result, _ := data["result"].(map[string]any)
	status, _ := data["profileStatus"].(string)
	if userID == "" || result == nil || status == "" {
		return "", nil
	}
	code := ex.Request.URL.Query().Get("solutionCode") // "": the latest session of any code

	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.users[userID]
	if u == nil {
		u = &recordedUser{sessions: map[string]recordedSession{}}
		r.users[userID] = u
	}
	prev := *u
	prev.sessions = map[string]recordedSession{}
	for k, v := range u.sessions {
		prev.sessions[k] = v
	}
	u.profileStatus = status
	u.sessions[code] = recordedSession{at: r.now().UTC().Truncate(time.Second), result: plainNumbers(Mask(result)).(map[string]any)}
	text, err := r.render(userID, u)
	if err == nil {
		err = r.checkReplayable(userID, text)
	}
	if err != nil {
		*u = prev
		return "", fmt.Errorf("userId %s: the answer cannot be replayed, not recorded: %w", userID, err)
	}
	path := filepath.Join(r.dir, fileName(userID))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, text, 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// render writes a user's scenario file.
func (r *Recorder) render(userID string, u *recordedUser) ([]byte, error) {
	codes := make([]string, 0, len(u.sessions))
	for c := range u.sessions {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool { // oldest first, the latest of any code last: the newest answers
		a, b := u.sessions[codes[i]], u.sessions[codes[j]]
		switch {
		case (codes[i] == "") != (codes[j] == ""):
			return codes[j] == ""
		case !a.at.Equal(b.at):
			return a.at.Before(b.at)
		}
		return codes[i] < codes[j]
	})
	codeOf := func(c string) string { return c }
	if latest, ok := u.sessions[""]; ok {
		// The answer to a request without solutionCode does not say its code: it takes the
		// code of a recorded session with the same signatureId, else 101 when no answer was
		// recorded under 101, else the code "any".
		guess := scenarios.DefaultSolutionCode
		if _, taken := u.sessions[guess]; taken {
			guess = "any"
		}
		for c, s := range u.sessions {
			if c != "" && s.result["signatureId"] == latest.result["signatureId"] {
				guess = c
			}
		}
		codeOf = func(c string) string {
			if c == "" {
				return guess
			}
			return c
		}
		if u.sessions[guess].result != nil && guess != "" {
			// the same session, recorded twice: keep it once, as the latest
			codes = slices.DeleteFunc(codes, func(c string) bool { return c == guess })
		}
	}
	type session struct {
		SignatureID   string         `yaml:"signatureId,omitempty"`
		SolutionCode  string         `yaml:"solutionCode"`
		CreatedAt     string         `yaml:"createdAt"`
		State         string         `yaml:"state"`
		OverallResult string         `yaml:"overallResult,omitempty"`
		ErrorCode     string         `yaml:"errorCode,omitempty"`
		Verbatim      bool           `yaml:"verbatim,omitempty"`
		Result        map[string]any `yaml:"result,omitempty"`
	}
	type user struct {
		Regions       []string  `yaml:"regions,omitempty"`
		ProfileStatus string    `yaml:"profileStatus"`
		Sessions      []session `yaml:"sessions"`
	}
	out := user{Regions: r.regions, ProfileStatus: u.profileStatus}
	passed := false
	for _, s := range u.sessions {
		passed = passed || s.result["overallResult"] == "PASS"
	}
	if !passed && u.profileStatus != "INIT" && len(codes) > 0 {
		// An established profile passed once, in a session older than those the answers
		// showed; lint requires it, so an older generated PASS stands for it.
		first := u.sessions[codes[0]].at.Add(-24 * time.Hour)
		out.Sessions = append(out.Sessions, session{SolutionCode: codeOf(codes[0]), CreatedAt: first.Format(time.RFC3339Nano), State: "finished", OverallResult: "PASS"})
	}
	for i, c := range codes {
		s := u.sessions[c]
		at := s.at.Add(time.Duration(i) * time.Millisecond) // distinct, in order, even within a second
		sess := session{SolutionCode: codeOf(c), CreatedAt: at.Format(time.RFC3339Nano), Verbatim: true, Result: s.result}
		sess.SignatureID, _ = s.result["signatureId"].(string)
		overall, _ := s.result["overallResult"].(string)
		switch {
		case overall != "":
			sess.State, sess.OverallResult = "finished", overall
			sess.ErrorCode, _ = s.result["errorCode"].(string)
		case s.result["submissionCompleted"] == true:
			sess.State = "submitted"
		default:
			sess.State = "in_progress"
		}
		out.Sessions = append(out.Sessions, sess)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Recorded by idvmock proxy from %s; personal data masked.\n", r.source)
	fmt.Fprintf(&buf, "# Replay: idvmock serve --scenarios %s\n", r.dir)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]map[string]user{"users": {userID: out}}); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// checkReplayable lints a recorded file as serve would load it.
func (r *Recorder) checkReplayable(userID string, text []byte) error {
	f, err := scenarios.ParseFile(fileName(userID), bytes.NewReader(text))
	if err != nil {
		return err
	}
	_, err = scenarios.New(0, append(slices.Clip(r.builtin), f)...)
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

// Personal data in a Get Result object: every string of docDetail (OCR of an identity
// document), of inputParameters but the identifiers, and the face step's images and videos.
var keptInputParameters = map[string]bool{"userId": true, "bizId": true, "region": true, "solutionCode": true, "language": true, "productLevel": true, "docType": true}

// keptDocFields describe the document, not its holder.
var keptDocFields = map[string]bool{"docType": true, "nationality": true}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Mask returns a copy of a Get Result object with personal data replaced by stable
// placeholders (the same value always masks to the same placeholder).
func Mask(result map[string]any) map[string]any {
	out := deepCopy(result).(map[string]any)
	if doc, ok := out["docDetail"].(map[string]any); ok {
		for k, v := range doc {
			if !keptDocFields[k] {
				doc[k] = maskStrings(v, "doc")
			}
		}
	}
	if in, ok := out["inputParameters"].(map[string]any); ok {
		for k, v := range in {
			if !keptInputParameters[k] {
				in[k] = maskStrings(v, "input")
			}
		}
	}
	if face, ok := out["faceDetail"].(map[string]any); ok {
		for k, v := range face {
			s, isString := v.(string)
			lower := strings.ToLower(k)
			media := strings.Contains(lower, "image") || strings.Contains(lower, "video") || strings.HasSuffix(lower, "url")
			if media && isString && s != "PENDING" && s != "ERROR" && !strings.HasSuffix(lower, "time") {
				face[k] = "https://files.idvmock.invalid/masked/" + digest(s) + ".jpg"
			}
		}
	}
	return out
}

// maskStrings replaces every string in v; dates stay dates, so the result keeps its formats.
func maskStrings(v any, kind string) any {
	switch x := v.(type) {
	case string:
		if isoDate.MatchString(x) {
			return "1970-01-01"
		}
		return kind + "-masked-" + digest(x)
	case map[string]any:
		for k, e := range x {
			x[k] = maskStrings(e, kind)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = maskStrings(e, kind)
		}
		return x
	}
	return v
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// plainNumbers turns json.Numbers into int64 or float64, which YAML writes as numbers.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	}
	return v
}

func deepCopy(v any) any {
	b, _ := json.Marshal(v)
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}
