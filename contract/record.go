package contract

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
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
// are written 0600; a folder the Recorder creates is 0700.
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

// NewRecorder records into dir, created 0700 if it does not exist (a folder that exists keeps
// its mode; the files are 0600 whatever it is). region is the upstream's region name ("" when
// the upstream is not one of the vendor's regional hosts); source names the upstream in the
// files' header.
func NewRecorder(dir, region, source string) (*Recorder, error) {
	if err := makePrivateDir(dir); err != nil {
		return nil, fmt.Errorf("--record %s: %w", dir, err)
	}
	builtin, err := scenarios.BuiltinFiles()
	if err != nil {
		return nil, err
	}
	set, err := scenarios.New(0, builtin...)
	if err != nil {
		return nil, err
	}
	schema, err := getResultSchema()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("--record: drawing the masking key: %w", err)
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

// Record records one exchange; it returns the file written, "" when the exchange is not one
// to record, or why the answer cannot be replayed. A file with an error means the answer was
// recorded but an earlier one of the user was dropped; the error says why.
func (r *Recorder) Record(op string, ex Exchange) (string, error) {
	if op != OpGetLatest || ex.Status != 200 {
		return "", nil
	}
	env, err := decodeObject(ex.Body)
	if err != nil {
		return "", nil
	}
	return r.record(op, ex, env)
}

// record is Record with the body already decoded; it does not change env.
func (r *Recorder) record(op string, ex Exchange, env map[string]any) (string, error) {
	if op != OpGetLatest || ex.Status != 200 || env["code"] != "SUCCESS" {
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
	u.profileStatus = status
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
	text, err := r.render(userID, u, noCode)
	if err == nil {
		err = r.checkReplayable(userID, text)
	}
	if err != nil {
		*u = prev
		return "", fmt.Errorf("userId %s: the answer cannot be replayed, not recorded: %w", userID, err)
	}
	path := filepath.Join(r.dir, fileName(userID))
	if err := writePrivate(path, text); err != nil {
		*u = prev
		return "", fmt.Errorf("userId %s: not recorded: %w", userID, err)
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

// render writes a user's scenario file; noCode is the code the answer asked without one
// is filed under (codeOfNoCode).
func (r *Recorder) render(userID string, u *recordedUser, noCode string) ([]byte, error) {
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
	codeOf := func(c string) string {
		if c == "" {
			return noCode
		}
		return c
	}
	if _, ok := u.sessions[""]; ok {
		if _, same := u.sessions[noCode]; same {
			// the same session, recorded twice: keep it once, as the latest
			codes = slices.DeleteFunc(codes, func(c string) bool { return c == noCode })
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

// Masking. openapi.yaml marks what is personal in the Get Result object with extensions:
//
//	x-idvmock-personal: true   the value, and every string below it, declared or not
//	x-idvmock-personal: false  not personal, below a personal value
//	x-idvmock-personal: media  a photo or video (URL or base64) of the person
//	x-idvmock-kept-values: [PENDING, ERROR]  values of a marked field that are not personal
//
// A masked string keeps what the schema requires of it: an enum's first value, 1970-01-01
// for a date, a placeholder URL for media; else masked-<8 hex digits of its HMAC>. A number
// or boolean is masked only when its own schema is marked (to the schema's minimum or 0, and
// false).
const (
	personalExtension   = "x-idvmock-personal"
	keptValuesExtension = "x-idvmock-kept-values"
	maskedMediaURL      = "https://files.idvmock.invalid/masked/"
)

// getResultSchema is openapi.yaml's GetResult, its marks checked.
var getResultSchema = sync.OnceValues(func() (*openapi3.Schema, error) {
	doc, err := idvmock.LoadSpec()
	if err != nil {
		return nil, err
	}
	ref := doc.Components.Schemas["GetResult"]
	if ref == nil || ref.Value == nil {
		return nil, fmt.Errorf("openapi.yaml: components.schemas.GetResult is missing; recordings are masked by its %s marks", personalExtension)
	}
	if err := checkMarks(ref.Value, "components.schemas.GetResult", map[*openapi3.Schema]bool{}); err != nil {
		return nil, err
	}
	return ref.Value, nil
})

// checkMarks refuses a mark the masker would not understand.
func checkMarks(s *openapi3.Schema, at string, seen map[*openapi3.Schema]bool) error {
	if s == nil || seen[s] {
		return nil
	}
	seen[s] = true
	if v, ok := s.Extensions[personalExtension]; ok && v != true && v != false && v != "media" {
		return fmt.Errorf("openapi.yaml: %s: %s is %v: write true, false or media", at, personalExtension, v)
	}
	if v, ok := s.Extensions[keptValuesExtension]; ok {
		list, isList := v.([]any)
		for _, e := range list {
			if _, isString := e.(string); !isString {
				isList = false
			}
		}
		if !isList {
			return fmt.Errorf("openapi.yaml: %s: %s is %v: write a list of strings", at, keptValuesExtension, v)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		if err := checkMarks(s.Properties[name].Value, at+".properties."+name, seen); err != nil {
			return err
		}
	}
	if s.Items != nil {
		if err := checkMarks(s.Items.Value, at+".items", seen); err != nil {
			return err
		}
	}
	if s.AdditionalProperties.Schema != nil {
		if err := checkMarks(s.AdditionalProperties.Schema.Value, at+".additionalProperties", seen); err != nil {
			return err
		}
	}
	for kind, subs := range map[string]openapi3.SchemaRefs{"allOf": s.AllOf, "anyOf": s.AnyOf, "oneOf": s.OneOf} {
		for i, sub := range subs {
			if err := checkMarks(sub.Value, fmt.Sprintf("%s.%s[%d]", at, kind, i), seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// masker masks a Get Result object as its schema marks it, keyed with key.
type masker struct {
	key    []byte
	schema *openapi3.Schema
}

// Mask returns a copy of a Get Result object with the values openapi.yaml marks personal
// replaced by placeholders: the same value gets the same placeholder for this Recorder,
// another one for another Recorder. result is not changed.
func (r *Recorder) Mask(result map[string]any) map[string]any {
	return r.mask.value(result, r.mask.schema, false, false).(map[string]any)
}

// value masks v, described by s (nil: a value the schema does not declare); personal and
// media are the marks inherited from above.
func (m masker) value(v any, s *openapi3.Schema, personal, media bool) any {
	mark, marked := markOf(s)
	if marked {
		personal, media = mark != false, mark == "media"
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = m.value(e, propertyOf(s, k), personal, media)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.value(e, itemsOf(s), personal, media)
		}
		return out
	case string:
		if personal {
			return m.maskString(x, s, media)
		}
	case json.Number, float64:
		if personal && marked {
			if e := enumOf(s); len(e) > 0 {
				return e[0]
			}
			if s.Min != nil {
				return json.Number(strconv.FormatFloat(*s.Min, 'f', -1, 64))
			}
			return json.Number("0")
		}
	case bool:
		if personal && marked {
			return false
		}
	}
	return v
}

var isoDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// maskString replaces a personal string by a value its schema s still accepts.
func (m masker) maskString(x string, s *openapi3.Schema, media bool) string {
	if s != nil {
		if kept, _ := s.Extensions[keptValuesExtension].([]any); slices.Contains(kept, any(x)) {
			return x
		}
		for _, e := range enumOf(s) {
			if str, ok := e.(string); ok {
				return str
			}
		}
	}
	switch {
	case media:
		return maskedMediaURL + m.sum(x, 16) + ".jpg"
	case s == nil && isoDate.MatchString(x): // an undeclared date stays a date
		return "1970-01-01"
	case s == nil:
		return "masked-" + m.sum(x, 8)
	case s.Format == "date":
		return "1970-01-01"
	case s.Format == "date-time":
		return "1970-01-01T00:00:00Z"
	}
	masked := "masked-" + m.sum(x, 8)
	if s.Pattern != "" {
		if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString(masked) && re.MatchString("1970-01-01") {
			return "1970-01-01" // a date by its pattern
		}
	}
	return masked
}

// sum is the first n hex digits of the HMAC-SHA256 of x. A long value (a base64 image) is
// fed in pieces, not copied whole.
func (m masker) sum(x string, n int) string {
	h := hmac.New(sha256.New, m.key)
	buf := make([]byte, min(len(x), 32<<10))
	for len(x) > 0 {
		k := copy(buf, x)
		h.Write(buf[:k])
		x = x[k:]
	}
	return hex.EncodeToString(h.Sum(nil))[:n]
}

// markOf reads the personal mark of s, or of the schemas it is allOf.
func markOf(s *openapi3.Schema) (mark any, ok bool) {
	if s == nil {
		return nil, false
	}
	if mark, ok := s.Extensions[personalExtension]; ok {
		return mark, true
	}
	for _, sub := range s.AllOf {
		if mark, ok := markOf(sub.Value); ok {
			return mark, true
		}
	}
	return nil, false
}

// propertyOf is the schema of property k of an object described by s, nil when undeclared.
func propertyOf(s *openapi3.Schema, k string) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if p := s.Properties[k]; p != nil {
		return p.Value
	}
	for _, sub := range s.AllOf {
		if p := propertyOf(sub.Value, k); p != nil {
			return p
		}
	}
	if s.AdditionalProperties.Schema != nil {
		return s.AdditionalProperties.Schema.Value
	}
	return nil
}

// itemsOf is the schema of the items of an array described by s.
func itemsOf(s *openapi3.Schema) *openapi3.Schema {
	if s == nil {
		return nil
	}
	if s.Items != nil {
		return s.Items.Value
	}
	for _, sub := range s.AllOf {
		if items := itemsOf(sub.Value); items != nil {
			return items
		}
	}
	return nil
}

// enumOf is the enum of s, or of the schemas it is allOf; null is left out.
func enumOf(s *openapi3.Schema) []any {
	if s == nil {
		return nil
	}
	var out []any
	for _, e := range s.Enum {
		if e != nil {
			out = append(out, e)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, sub := range s.AllOf {
		if e := enumOf(sub.Value); len(e) > 0 {
			return e
		}
	}
	return nil
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
