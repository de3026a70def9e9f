package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// Every fault kind and every forced answer gives its reply from one table: the code and
// message on HTTP 200 for the vendor's answers, the connection or a gateway page otherwise,
// the answer spoiled for truncated and malformed.
func TestHandleRepliesOfFaultsAndForcedAnswers(t *testing.T) {
	var rules strings.Builder
	rules.WriteString("rules:\n")
	for _, kind := range scenarios.FaultKinds {
		fault := fmt.Sprintf("{type: %s}", kind)
		switch kind {
		case scenarios.FaultLatency:
			fault = "{type: latency, duration: 1ms}"
		case scenarios.FaultGateway:
			fault = "{type: gateway, status: 504}"
		case scenarios.FaultServiceBusy:
			fault = "{type: service_busy, retryAfter: 1500ms}"
		}
		fmt.Fprintf(&rules, "  - name: %s\n    match: {userId: fault-%s}\n    faults: [%s]\n", kind, kind, fault)
	}
	rules.WriteString("users:\n")
	for _, answer := range scenarios.ForcedAnswers {
		fmt.Fprintf(&rules, "  forced-%s: {answer: %s}\n", answer, answer)
	}
	e, err := engineWith(t, rules.String())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Reply{
		"fault-latency":       {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageUserNotFound, Delay: time.Millisecond},
		"fault-hang":          {Break: scenarios.FaultHang},
		"fault-reset":         {Break: scenarios.FaultReset},
		"fault-empty":         {Break: scenarios.FaultEmpty},
		"fault-gateway":       {Gateway: true, Status: 504, Code: "504"},
		"fault-truncated":     {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageUserNotFound, Spoil: scenarios.FaultTruncated},
		"fault-malformed":     {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageUserNotFound, Spoil: scenarios.FaultMalformed},
		"fault-service_busy":  {Status: 200, Code: idvmock.CodeServiceBusy, Message: idvmock.MessageRateLimit, RetryAfter: 1500 * time.Millisecond},
		"fault-token_expired": {Status: 200, Code: idvmock.CodeIAMFailed, Message: idvmock.MessageTokenNotFound},
		"fault-server_error":  {Status: 200, Code: idvmock.CodeError, Message: idvmock.MessageServerError},
		// Delivery faults act on no request: their rules are not tried, the request is answered.
		"fault-duplicate_delivery": {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageUserNotFound},
		"fault-bad_signature":      {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageUserNotFound},
		"forced-user_not_found":    {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageUserNotFound},
		"forced-bad_solution_code": {Status: 200, Code: idvmock.CodeParameterError, Message: idvmock.MessageBadSolutionCode},
		"forced-server_error":      {Status: 200, Code: idvmock.CodeError, Message: idvmock.MessageServerError},
		"forced-token_expired":     {Status: 200, Code: idvmock.CodeIAMFailed, Message: idvmock.MessageTokenNotFound},
	}
	if len(want) != len(scenarios.FaultKinds)+len(scenarios.ForcedAnswers) {
		t.Fatalf("the table of this test misses a fault kind or a forced answer: %d entries", len(want))
	}
	for userID, w := range want {
		r := e.Handle(t.Context(), Request{Operation: idvmock.OpGetLatest, UserID: userID, Region: "sg", Country: "SGP"})
		got := Reply{Gone: r.Gone, Break: r.Break, Gateway: r.Gateway, Status: r.Status, Code: r.Code, Message: r.Message,
			RetryAfter: r.RetryAfter, Spoil: r.Spoil, Delay: r.Delay}
		if fmt.Sprint(got) != fmt.Sprint(w) || r.Trace.Err != nil {
			t.Errorf("%s: got %+v (%v), want %+v", userID, got, r.Trace.Err, w)
		}
		kind, ok := strings.CutPrefix(userID, "fault-")
		switch {
		case ok && scenarios.FaultKind(kind).Delivery():
			if r.Trace.Rule != "" || len(r.Trace.Faults) != 0 {
				t.Errorf("%s: a rule of delivery faults acted on a request: rule %q, faults %v", userID, r.Trace.Rule, r.Trace.Faults)
			}
		case ok && (r.Trace.Rule != kind || len(r.Trace.Faults) != 1 || string(r.Trace.Faults[0]) != kind):
			t.Errorf("%s: the trace names rule %q and faults %v", userID, r.Trace.Rule, r.Trace.Faults)
		}
	}
}

// A client that gives up during a latency fault gets nothing, and its call does not count:
// the user stays in its state.
func TestHandleClientGoneDuringLatencyDoesNotCount(t *testing.T) {
	e, err := engineWith(t, `rules:
  - name: slow
    match: {headers: {X-Test: slow}}
    faults: [{type: latency, duration: 10s}]
users:
  stepper:
    states:
      - {name: first, profileStatus: INIT, sessions: [{}], after: {calls: 1}}
      - {name: second, profileStatus: ACTIVE, sessions: [{overallResult: PASS}]}
`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	slow := Request{Operation: idvmock.OpGetLatest, UserID: "stepper", Region: "sg", Country: "SGP", Header: http.Header{"X-Test": {"slow"}}}
	if r := e.Handle(ctx, slow); !r.Gone || r.Code != "" || r.Trace.Rule != "slow" {
		t.Fatalf("want nothing for a client gone, got %+v", r)
	}
	if out := ask(t, e, Request{UserID: "stepper"}); out.State != "first" {
		t.Errorf("the abandoned call counted: the next call answers state %q", out.State)
	}
}

// The token API: a fresh timestamp, then the signature, then the account_disabled scenario;
// an unknown scenario header is the client's error, before any rule.
func TestHandleTokenAPI(t *testing.T) {
	now := time.UnixMilli(1665993522952)
	e, err := NewEngine(0, builtinFiles(t), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	e.SetAuth(Auth{AccessKey: idvmock.SampleAccessKey, SecretKey: idvmock.SampleSecretKey})
	signed := func(ts string) idvmock.TokenRequest {
		return idvmock.TokenRequest{AccessKey: idvmock.SampleAccessKey, Timestamp: []byte(`"` + ts + `"`),
			Signature: idvmock.Sign(idvmock.SampleAccessKey, idvmock.SampleSecretKey, ts), PeriodSecond: 60}
	}
	forged := signed("1665993522952")
	forged.Signature = strings.ToUpper(forged.Signature)
	for name, tc := range map[string]struct {
		body     idvmock.TokenRequest
		scenario string
		status   int
		code     string
		message  string
	}{
		"signed":           {signed("1665993522952"), "", 200, idvmock.CodeSuccess, idvmock.MessageOK},
		"301 s late":       {signed("1665993221952"), "", 200, idvmock.CodeParameterError, idvmock.MessageTimestampError},
		"12 digits":        {signed("166599352295"), "", 200, idvmock.CodeParameterError, idvmock.MessageTimestampError},
		"forged":           {forged, "", 200, idvmock.CodeParameterError, idvmock.MessageSignatureError},
		"account disabled": {signed("1665993522952"), TokenScenarioAccountDisabled, 200, idvmock.CodeAccountDisabled, idvmock.MessageAccountDisabled},
		"unknown scenario": {signed("1665993522952"), "active", 400, idvmock.CodeClientError,
			`X-Mock-Scenario "active" is not a scenario of the token API; use account_disabled`},
	} {
		r := e.Handle(t.Context(), Request{Operation: idvmock.OpToken, Region: "global", Token: tc.body, Scenario: tc.scenario})
		if r.Status != tc.status || r.Code != tc.code || r.Message != tc.message {
			t.Errorf("%s: %d %s %q, want %d %s %q", name, r.Status, r.Code, r.Message, tc.status, tc.code, tc.message)
		}
		if tc.code != idvmock.CodeSuccess {
			continue
		}
		data, ok := r.Data.(idvmock.TokenData)
		if !ok || len(data.Token) != 32 || data.ExpiredTime != now.Add(time.Minute).UnixMilli() || !r.Full {
			t.Errorf("%s: data %#v, full envelope %v", name, r.Data, r.Full)
		}
	}
}

// Present mode accepts any non-blank token and keeps none; strict mode accepts only issued,
// unexpired ones, and keeps at most MaxTokens, the oldest issued going first, within a flat
// heap.
func TestTokensAreCheckedAndBounded(t *testing.T) {
	now := time.UnixMilli(1665993522952)
	clock := func() time.Time { return now }
	e, err := NewEngine(0, builtinFiles(t), clock)
	if err != nil {
		t.Fatal(err)
	}
	e.SetAuth(Auth{AccessKey: "ak", SecretKey: "sk"})
	issue := func() string {
		ts := fmt.Sprint(now.UnixMilli())
		r := e.Handle(t.Context(), Request{Operation: idvmock.OpToken, Token: idvmock.TokenRequest{
			AccessKey: "ak", Timestamp: []byte(ts), Signature: idvmock.Sign("ak", "sk", ts), PeriodSecond: 3600}})
		data, ok := r.Data.(idvmock.TokenData)
		if !ok {
			t.Fatalf("no token: %d %s %s", r.Status, r.Code, r.Message)
		}
		return data.Token
	}
	issue()
	if store := e.stored().(*MemoryStore); store.tokens.Len() != 0 {
		t.Errorf("present mode keeps %d tokens", store.tokens.Len())
	}
	for token, want := range map[string]bool{"": false, "  ": false, "anything": true} {
		if ok, err := e.TokenAccepted(t.Context(), token); ok != want || err != nil {
			t.Errorf("present mode: token %q accepted %v (%v), want %v", token, ok, err, want)
		}
	}

	e.SetAuth(Auth{AccessKey: "ak", SecretKey: "sk", Strict: true})
	e.SetLimits(Limits{MaxTokens: 1000})
	before := liveHeap()
	var first, last string
	for i := range 5000 {
		tok := issue()
		if i == 0 {
			first = tok
		}
		last = tok
	}
	if n := e.stored().(*MemoryStore).tokens.Len(); n != 1000 {
		t.Errorf("%d tokens kept, want the bound 1000", n)
	}
	accepted := func(token string) bool {
		ok, err := e.TokenAccepted(t.Context(), token)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if accepted(first) || !accepted(last) || accepted("anything") {
		t.Error("strict mode kept the oldest token, dropped the newest, or accepted one never issued")
	}
	now = now.Add(time.Hour)
	if accepted(last) {
		t.Error("strict mode accepted an expired token")
	}
	if grown := int64(liveHeap()) - int64(before); grown > 2<<20 {
		t.Errorf("the heap grew %d bytes for 1,000 kept tokens", grown)
	}
}

// Generate URL starts a session and answers its H5 URL; Get Result answers it, and a
// signatureId no session has is the vendor's SIGNATURE_NOT_EXIST.
func TestHandleGenerateURLAndGetResult(t *testing.T) {
	e, _ := newTestEngine(t)
	r := e.Handle(t.Context(), Request{Operation: idvmock.OpGenerateURL, UserID: "newcomer", H5URL: "http://mock/h5/",
		Start: StartRequest{UserID: "newcomer", BizID: "b1", Region: "PHL", Input: []byte(`{"userId":"newcomer"}`)}})
	data, ok := r.Data.(idvmock.GenerateURLData)
	if !ok || r.Code != idvmock.CodeSuccess || !r.Full || data.URL != "http://mock/h5/"+data.SignatureID || r.Trace.Source != "started session "+data.SignatureID {
		t.Fatalf("Generate URL: %+v", r)
	}
	got := e.Handle(t.Context(), Request{Operation: idvmock.OpGetResult, SignatureID: data.SignatureID, Region: "ph", Country: "PHL"})
	if raw, ok := got.Data.([]byte); ok || got.Code != idvmock.CodeSuccess || got.Full || !strings.Contains(fmt.Sprintf("%s", got.Data), data.SignatureID) {
		t.Errorf("Get Result: %s %s %s (%v)", got.Code, got.Message, got.Data, raw)
	}
	if r := e.Handle(t.Context(), Request{Operation: idvmock.OpGetResult, SignatureID: "nope"}); r.Status != 200 || r.Code != idvmock.CodeSignatureNotExist || r.Message != idvmock.MessageSignatureNotExist {
		t.Errorf("an unknown signatureId: %s %s", r.Code, r.Message)
	}
}

// A store that fails is the mock's own failure, never a business answer: HTTP 503, ERROR, the
// store's error in the trace.
func TestHandleStoreFailureIsTheMocksFailure(t *testing.T) {
	e, _ := newTestEngine(t)
	e.SetStore(failingStore{NewMemoryStore(Limits{})})
	for _, req := range []Request{
		{Operation: idvmock.OpGetLatest, UserID: "user_active", Region: "sg", Country: "SGP"},
		{Operation: idvmock.OpGenerateURL, UserID: "u", Start: StartRequest{UserID: "u"}},
		{Operation: idvmock.OpGetResult, SignatureID: "abc"},
	} {
		r := e.Handle(t.Context(), req)
		if r.Status != 503 || r.Code != idvmock.CodeError || !errors.Is(r.Trace.Err, ErrStore) || !errors.Is(r.Trace.Err, errUnreachable) {
			t.Errorf("%s: %d %s %v", req.Operation, r.Status, r.Code, r.Trace.Err)
		}
	}
	e.SetAuth(Auth{Strict: true})
	if _, err := e.TokenAccepted(t.Context(), "t"); !errors.Is(err, ErrStore) {
		t.Errorf("a token checked against a failing store: %v", err)
	}
	if err := e.DeleteUser(t.Context(), "user_active"); !errors.Is(err, ErrStore) || e.Set().User("user_active") == nil {
		t.Errorf("a delete the store refused: %v; the user is kept: %v", err, e.Set().User("user_active") != nil)
	}
}

var errUnreachable = errors.New("connection refused")

// failingStore is a store whose every call fails, as one that cannot be reached.
type failingStore struct{ *MemoryStore }

func (failingStore) Step(context.Context, ProgressKey, Machine, time.Time) (Progress, error) {
	return Progress{}, errUnreachable
}
func (failingStore) StepUser(context.Context, ProgressKey, Machine, time.Time) (Progress, []StartedSession, idvmock.ProfileStatus, error) {
	return Progress{}, nil, "", errUnreachable
}
func (failingStore) Progress(context.Context, ProgressKey) (Progress, bool, error) {
	return Progress{}, false, errUnreachable
}
func (failingStore) ForgetProgress(context.Context, ProgressKey) error { return errUnreachable }
func (failingStore) Hit(context.Context, string) (uint64, error)       { return 0, errUnreachable }
func (failingStore) NextSequence(context.Context) (uint64, error)      { return 0, errUnreachable }
func (failingStore) Session(context.Context, string) (StartedSession, bool, error) {
	return StartedSession{}, false, errUnreachable
}
func (failingStore) UserSessions(context.Context, string) ([]StartedSession, idvmock.ProfileStatus, error) {
	return nil, "", errUnreachable
}
func (failingStore) TokenValid(context.Context, string, time.Time) (bool, error) {
	return false, errUnreachable
}

// A session started after a reset never takes the signatureId of one started before it: an
// app that kept the old one gets SIGNATURE_NOT_EXIST, not another session.
func TestResetNeverHandsOutASignatureIdAgain(t *testing.T) {
	e, _ := newTestEngine(t)
	before := start(t, e, StartRequest{UserID: "again", Region: "PHL"})
	if _, err := e.Reset(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	after := start(t, e, StartRequest{UserID: "again", Region: "PHL"})
	if after.Session.SignatureID == before.Session.SignatureID {
		t.Fatalf("the reset mock handed out %s again", before.Session.SignatureID)
	}
	if r := e.Handle(t.Context(), Request{Operation: idvmock.OpGetResult, SignatureID: before.Session.SignatureID}); r.Code != idvmock.CodeSignatureNotExist {
		t.Errorf("the signatureId from before the reset: %s %s", r.Code, r.Message)
	}
}

// A started session keeps its Generate URL request as given: a request without solutionCode
// starts a session of the default code, and the saved state says what was asked.
func TestStartedSessionKeepsItsRequestAsGiven(t *testing.T) {
	e, _ := newTestEngine(t)
	s := start(t, e, StartRequest{UserID: "plain", Region: "PHL"})
	if s.Session.SolutionCode != scenarios.DefaultSolutionCode || s.Start.SolutionCode != "" {
		t.Errorf("session code %q, request code %q; want %q and none", s.Session.SolutionCode, s.Start.SolutionCode, scenarios.DefaultSolutionCode)
	}
	if saved := saveState(t, e).Started[0]; saved.Start.SolutionCode != "" {
		t.Errorf("the saved request has solutionCode %q", saved.Start.SolutionCode)
	}
}
