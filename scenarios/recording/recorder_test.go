package recording

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/mockserver"
	"github.com/idvmock/idvmock/scenarios/files"
)

// newMock serves idvmock in the test process, with the scenario files given.
func newMock(t *testing.T, paths ...string) http.Handler {
	t.Helper()
	builtin, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	extra, err := files.ReadPaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewEngine(0, append(builtin, extra...), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mockserver.New(mockserver.Config{Engine: e, ParseUser: files.ParseUser, AccessKey: idvmock.SampleAccessKey, SecretKey: idvmock.SampleSecretKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// answer is what a client got from a mock.
type answer struct {
	status int
	body   []byte
}

// getLatest asks the mock at base for a Get Latest Session Result (query: userId=...).
func getLatest(t *testing.T, base, query string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+idvmock.PathLatest+"?"+query, nil)
	req.Header.Set("X-ACCESS-TOKEN", "test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, body}
}

// decode decodes a JSON object, numbers as json.Number, as the proxy does.
func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return env
}

// mockEnvelope is the mock's Get Latest answer for user_active, decoded, its result answering
// for userID instead.
func mockEnvelope(t *testing.T, userID string) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, idvmock.PathLatest+"?userId=user_active", nil)
	req.Header.Set("X-ACCESS-TOKEN", "test-token")
	newMock(t).ServeHTTP(rec, req)
	env := decode(t, rec.Body.Bytes())
	if env["code"] != "SUCCESS" {
		t.Fatalf("the mock's answer for user_active:\n%s", rec.Body)
	}
	resultOfEnvelope(env)["inputParameters"].(map[string]any)["userId"] = userID
	return env
}

func resultOfEnvelope(env map[string]any) map[string]any {
	return env["data"].(map[string]any)["result"].(map[string]any)
}

// resultOf decodes an answer without its transactionId; with a Recorder, its result masked
// as the Recorder stores it.
func resultOf(t *testing.T, body []byte, masked *Recorder) map[string]any {
	t.Helper()
	env := decode(t, body)
	delete(env, "transactionId")
	if masked != nil {
		data := env["data"].(map[string]any)
		data["result"] = masked.Mask(data["result"].(map[string]any))
	}
	return env
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// record hands rec env as the answer to a Get Latest request for userID (code "": asked
// without solutionCode), as the proxy does.
func record(rec *Recorder, userID, code string, env map[string]any) (string, error) {
	query := url.Values{"userId": {userID}}
	if code != "" {
		query.Set("solutionCode", code)
	}
	return rec.Record(idvmock.OpGetLatest, query, http.StatusOK, env)
}

func newRecorder(t *testing.T, dir string) *Recorder {
	t.Helper()
	rec, err := NewRecorder(dir, "", "https://upstream.invalid")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// loadRecordings compiles the recordings in dir with the built-in files, as serve does.
func loadRecordings(t *testing.T, dir string) *engine.Set {
	t.Helper()
	builtin, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := files.ReadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	set, err := engine.New(0, append(builtin, recorded...)...)
	if err != nil {
		t.Fatalf("the recordings do not load: %v", err)
	}
	return set
}

// Recordings hold personal data, masked or not: the files are 0600 and a folder the Recorder
// creates is 0700. A folder that exists keeps its mode.
func TestRecordingsArePrivate(t *testing.T) {
	old := syscall.Umask(0o002) // the most permissive umask in use
	defer syscall.Umask(old)

	created := filepath.Join(t.TempDir(), "qa", "recorded")
	existing := t.TempDir()
	if err := os.Chmod(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(existing, "user_private.yaml") // an older recording, world-readable
	if err := os.WriteFile(stale, []byte("users: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for dir, wantDir := range map[string]fs.FileMode{created: 0o700, existing: 0o755} {
		rec := newRecorder(t, dir)
		file, err := record(rec, "user_private", "", mockEnvelope(t, "user_private"))
		if err != nil || file == "" {
			t.Fatalf("not recorded: %q %v", file, err)
		}
		for path, want := range map[string]fs.FileMode{dir: wantDir, file: 0o600} {
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("%s: mode %04o, want %04o", path, got, want)
			}
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("%s holds %d entries, want the one file (no temporary file left)", dir, len(entries))
		}
	}
	var dirErr *DirError
	if _, err := NewRecorder(stale, "", "x"); !errors.As(err, &dirErr) || dirErr.Dir != stale ||
		!strings.Contains(err.Error(), "user_private.yaml: it is a file, not a folder") {
		t.Errorf("a file to record into: %v", err)
	}
}

// An answer to a request without solutionCode does not say its code: it is filed under a code
// a replay accepts anyway, one the user has no answer under, never a made-up one; when there is
// none it is not recorded.
func TestAnAnswerWithoutSolutionCodeNeverMakesUpACode(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t, dir)
	const userID = "user_codes"
	answer := func(sig string) map[string]any {
		env := mockEnvelope(t, userID)
		resultOfEnvelope(env)["signatureId"] = sig
		return env
	}
	builtin, err := files.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	set, err := engine.New(0, builtin...)
	if err != nil {
		t.Fatal(err)
	}
	builtinCodes := set.SolutionCodes()

	if _, err := record(rec, userID, "101", answer("sig101")); err != nil {
		t.Fatal(err)
	}
	file, err := record(rec, userID, "", answer("sigLatest"))
	if err != nil || file == "" {
		t.Fatalf("the answer without solutionCode: %q %v", file, err)
	}
	if codes := loadRecordings(t, dir).SolutionCodes(); !reflect.DeepEqual(codes, builtinCodes) {
		t.Errorf("a replay accepts the solution codes %v, want those it accepts without recordings: %v", codes, builtinCodes)
	}
	replay := httptest.NewServer(newMock(t, dir))
	defer replay.Close()
	for query, want := range map[string]string{
		"userId=" + userID + "&solutionCode=any": `"message":"solutionCode is wrong."`,
		"userId=" + userID:                       `"signatureId":"sigLatest"`,
		"userId=" + userID + "&solutionCode=101": `"signatureId":"sig101"`,
	} {
		if p := getLatest(t, replay.URL, query); !strings.Contains(string(p.body), want) {
			t.Errorf("%s: %s, want %s", query, p.body, want)
		}
	}

	// 102 asked explicitly: the answer without a code has nowhere left to go and is dropped.
	file, err = record(rec, userID, "102", answer("sig102"))
	if file == "" || err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Errorf("102 recorded over the answer filed under it: %q %v", file, err)
	}
	before, _ := os.ReadFile(file)
	if bytes.Contains(before, []byte("sigLatest")) {
		t.Error("the dropped answer is still in the file")
	}
	file, err = record(rec, userID, "", answer("sigNewer"))
	if file != "" || err == nil || !strings.Contains(err.Error(), "not recorded") || !strings.Contains(err.Error(), "101, 102") {
		t.Errorf("an answer without solutionCode with every code taken: %q %v", file, err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, fileName(userID)))
	if !bytes.Equal(before, after) {
		t.Error("the refused answer changed the file")
	}
	if codes := loadRecordings(t, dir).SolutionCodes(); !reflect.DeepEqual(codes, builtinCodes) {
		t.Errorf("a replay accepts %v, want %v", codes, builtinCodes)
	}
}

// A recording is a scenario file under a header saying where it comes from: the user with the
// upstream's region and its profile status, and one verbatim session per solution code,
// oldest first, whose createdAt keeps the milliseconds that order answers recorded within one
// second. It parses back as written.
func TestRecordingIsAScenarioFile(t *testing.T) {
	dir := t.TempDir()
	rec, err := NewRecorder(dir, "sg", "https://sg-api.advance.ai")
	if err != nil {
		t.Fatal(err)
	}
	rec.now = func() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 700_000_000, time.FixedZone("SGT", 8*3600)) }
	const userID = "user_format"
	for _, code := range []string{"102", "101"} {
		env := mockEnvelope(t, userID)
		resultOfEnvelope(env)["signatureId"] = "sig" + code
		if _, err := record(rec, userID, code, env); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(filepath.Join(dir, userID+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	header := "# Recorded by idvmock proxy from https://sg-api.advance.ai; personal data masked.\n# Replay: idvmock serve --scenarios " + dir + "\n"
	if !strings.HasPrefix(string(text), header+"users:\n  user_format:\n    regions:\n      - sg\n    profileStatus: ACTIVE\n    sessions:\n") {
		t.Errorf("the file begins\n%.400s", text)
	}
	if n := strings.Count(string(text), "        verbatim: true\n        result:\n"); n != 2 { // the session's keys first, its long result last
		t.Errorf("%d sessions end with verbatim: true and then the result, want 2:\n%s", n, text)
	}
	f, err := files.Parse("user_format.yaml", bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	user := f.Users[userID]
	var got []string
	for _, s := range user.Sessions {
		got = append(got, fmt.Sprintf("%s %s %s %s %s %v", s.SolutionCode, s.SignatureID, s.CreatedAt.UTC().Format(time.RFC3339Nano), s.State, s.OverallResult, s.Verbatim))
		if s.Result["signatureId"] != s.SignatureID {
			t.Errorf("session %s holds the result of %v", s.SignatureID, s.Result["signatureId"])
		}
	}
	want := []string{"101 sig101 2026-03-01T02:00:00Z finished PASS true", "102 sig102 2026-03-01T02:00:00.001Z finished PASS true"}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(user.Regions, []string{"sg"}) || user.ProfileStatus != idvmock.ProfileActive {
		t.Errorf("sessions %q, want %q; regions %v, profile status %s", got, want, user.Regions, user.ProfileStatus)
	}
}
