package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios"
)

// ScenarioHeader forces a named scenario's outcome for any userId (idvmock's, not the
// vendor's); on the token API it names the token API's only scenario.
const ScenarioHeader = "X-Mock-Scenario"

// Request is one request to a vendor operation, as the engine sees it: what the rules match
// on, and the operation's input, read and validated against openapi.yaml by the HTTP side.
type Request struct {
	Operation    string // operationId in openapi.yaml (idvmock.Op*)
	UserID       string // empty when the operation takes none
	SolutionCode string // empty: absent
	Region       string // region name: global, sg, ...
	Country      string // the region's country (ISO 3166 alpha-3)
	Scenario     string // the ScenarioHeader; empty: none
	Header       Header

	Token       idvmock.TokenRequest // generateToken: the body
	Start       StartRequest         // generateVerificationUrl: the body
	H5URL       string               // generateVerificationUrl: the URL the signatureId is appended to
	SignatureID string               // getResult
	// ProfileStatus is the status Update Status asks for; its userId is UserID.
	ProfileStatus idvmock.ProfileStatus
	// ImageType is getResult's returnImageType: idvmock.ImageTypeURL (also when empty) or
	// idvmock.ImageTypeBase64. Other operations answer URLs.
	ImageType string
}

// Header is what the rules read of a request's headers; net/http's Header is one.
type Header interface {
	Get(name string) string
}

// Reply is the whole answer to one request: what the HTTP side writes, and why.
type Reply struct {
	// Gone: the client went away during a latency fault; nothing is written, and the request
	// did not count (no state moved).
	Gone bool
	// Break is a fault that acts on the connection instead of answering: hang, reset, empty.
	Break scenarios.FaultKind
	// Gateway: a gateway's HTML page of Status instead of the vendor's JSON.
	Gateway bool
	Status  int    // HTTP status: 200 for every outcome of the vendor's
	Code    string // the envelope's code
	// Message is the envelope's message; for CLIENT_ERROR, what was wrong, after which the
	// HTTP side puts the status line as the vendor does.
	Message string
	// Data is the envelope's data on SUCCESS: *idvmock.LatestData, json.RawMessage (a Get
	// Result object), idvmock.TokenData or idvmock.GenerateURLData.
	Data any
	// Full: the envelope carries every documented field (the token and Generate URL APIs).
	Full       bool
	RetryAfter time.Duration       // SERVICE_BUSY's Retry-After (0 is sent too)
	Spoil      scenarios.FaultKind // truncated or malformed: the body is spoiled when written
	Delay      time.Duration       // the latency faults waited before answering
	Trace      Trace
}

// Trace is where a reply came from, for the request log and the journal.
type Trace struct {
	Source     string // what answered: "user alice", "scenario active", "rule flaky"
	Rule       string // the rule that matched
	Scenario   string // the named scenario that answered
	State      string // the state that answered, for users with several
	Faults     []scenarios.FaultKind
	Unmatched  bool       // no user or rule knew the userId (on this region)
	NearMisses []NearMiss // what came closest, when Unmatched
	Note       string     // why the answer is not what the scenarios declare
	// Err is the mock's own failure (a store that failed): the reply is an HTTP 500 ERROR
	// and the log says why.
	Err error
}

// wireAnswers is what each answer the scenarios can force sends, whether a state forces it
// (answer: ...) or a rule's fault does (type: ...; server_error and token_expired are both):
// the one table from those kinds to the vendor's codes and messages.
var wireAnswers = map[string]struct{ code, message string }{
	scenarios.AnswerUserNotFound:       {idvmock.CodeParameterError, idvmock.MessageUserNotFound},
	scenarios.AnswerBadSolutionCode:    {idvmock.CodeParameterError, idvmock.MessageBadSolutionCode},
	scenarios.AnswerServerError:        {idvmock.CodeError, idvmock.MessageServerError},
	scenarios.AnswerTokenExpired:       {idvmock.CodeIAMFailed, idvmock.MessageTokenNotFound},
	string(scenarios.FaultServiceBusy): {idvmock.CodeServiceBusy, idvmock.MessageRateLimit},
}

// forced is the reply of an answer kind of wireAnswers.
func forced(kind string) Reply {
	var r Reply
	r.force(kind)
	return r
}

// force makes r the answer of a kind of wireAnswers.
func (r *Reply) force(kind string) {
	w := wireAnswers[kind]
	r.Status, r.Code, r.Message = 200, w.code, w.message
}

// answer is a reply of the vendor's, HTTP 200 as all of them.
func answer(code, message string) Reply { return Reply{Status: 200, Code: code, Message: message} }

// success is a SUCCESS reply with data.
func success(data any, full bool) Reply {
	var r Reply
	r.succeed(data, full)
	return r
}

// succeed makes r a SUCCESS with data.
func (r *Reply) succeed(data any, full bool) {
	r.Status, r.Code, r.Message, r.Data, r.Full = 200, idvmock.CodeSuccess, idvmock.MessageOK, data, full
}

// clientError is an HTTP 400 CLIENT_ERROR saying what was wrong.
func clientError(detail string) Reply {
	return Reply{Status: 400, Code: idvmock.CodeClientError, Message: detail}
}

// failure is the mock's own failure: HTTP 500, ERROR; 503 when the store did not answer (the
// request may be retried once it is back).
func failure(err error) Reply {
	status := 500
	if errors.Is(err, ErrStore) {
		status = 503
	}
	r := Reply{Status: status, Code: idvmock.CodeError, Message: idvmock.MessageServerError}
	r.Trace.Err = err
	return r
}

// unbuilt answers a result that could not be built (a scenario's template over its limits)
// as the vendor answers a failure of its own: HTTP 200, ERROR; the trace says why.
func unbuilt(err *BuildError) Reply {
	r := forced(scenarios.AnswerServerError)
	r.Trace.Source, r.Trace.Note = err.Source, "the answer could not be built: "+err.Err.Error()
	return r
}

// Handle answers one request of a vendor operation: the rules first (their latency, waited
// here, and their faults), then the operation. It never fails: a store that fails is a reply
// with Trace.Err.
func (e *Engine) Handle(ctx context.Context, req Request) Reply {
	if req.Operation == idvmock.OpToken && req.Scenario != "" && req.Scenario != TokenScenarioAccountDisabled {
		return clientError(fmt.Sprintf("%s %q is not a scenario of the token API; use %s",
			ScenarioHeader, req.Scenario, TokenScenarioAccountDisabled))
	}
	set := e.Set()
	d, err := e.decide(ctx, set, &req)
	if err != nil {
		return failure(err)
	}
	if d.Delay > 0 && !sleep(ctx, d.Delay) {
		r := Reply{Gone: true, Delay: d.Delay}
		d.traceInto(&r.Trace)
		return r
	}
	spoil := d.Fault != nil && (d.Fault.Kind == scenarios.FaultTruncated || d.Fault.Kind == scenarios.FaultMalformed)
	var r Reply
	switch {
	case d.Fault != nil && !spoil:
		r = faultReply(*d.Fault)
	case req.Operation == idvmock.OpGetLatest:
		e.latestReply(ctx, set, &req, d, &r)
	case req.Operation == idvmock.OpToken:
		r = e.tokenReply(ctx, &req)
	case req.Operation == idvmock.OpGenerateURL:
		r = e.startReply(ctx, &req)
	case req.Operation == idvmock.OpGetResult:
		r = e.resultReply(ctx, &req)
	case req.Operation == idvmock.OpGetProfile, req.Operation == idvmock.OpGetProfileCamel:
		r = e.profileReply(ctx, set, &req, d)
	case req.Operation == idvmock.OpUpdateStatus:
		r = e.updateStatusReply(ctx, set, &req, d)
	default:
		r = failure(fmt.Errorf("the engine answers no operation %q", req.Operation))
	}
	if spoil {
		r.Spoil = d.Fault.Kind
	}
	r.Delay = d.Delay
	d.traceInto(&r.Trace)
	return r
}

// traceInto adds the rules' decision to a reply's trace.
func (d *Decision) traceInto(t *Trace) {
	if d.Rule != nil {
		t.Rule = d.Rule.Name
	}
	t.Faults = d.Fired
}

// faultReply is what a fault that replaces the answer sends.
func faultReply(f Fault) Reply {
	switch f.Kind {
	case scenarios.FaultGateway:
		return Reply{Gateway: true, Status: f.Status, Code: strconv.Itoa(f.Status)}
	case scenarios.FaultHang, scenarios.FaultReset, scenarios.FaultEmpty:
		return Reply{Break: f.Kind}
	case scenarios.FaultServiceBusy:
		r := forced(string(f.Kind))
		r.RetryAfter = f.RetryAfter
		return r
	}
	return forced(string(f.Kind))
}

// sleep waits d, or less if ctx ends; it reports whether the whole delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// latestReply answers Get Latest Session Result.
func (e *Engine) latestReply(ctx context.Context, set *Set, req *Request, d Decision, r *Reply) {
	if err := e.latest(ctx, set, req, d, r); err != nil {
		*r = latestFailed(err)
	}
}

// latestFailed is the reply of Get Latest Session Result when it could not be answered.
func latestFailed(err error) Reply {
	var unknown *UnknownScenarioError
	var notBuilt *BuildError
	switch {
	case errors.As(err, &unknown):
		return clientError(fmt.Sprintf("%s %q is not a loaded scenario; use one of %s",
			ScenarioHeader, unknown.Name, strings.Join(unknown.Known, ", ")))
	case errors.As(err, &notBuilt):
		return unbuilt(notBuilt)
	}
	return failure(err)
}

// startReply answers Generate URL: a session started for the userId, and the URL of its H5
// page.
func (e *Engine) startReply(ctx context.Context, req *Request) Reply {
	started, err := e.StartSession(ctx, req.Start)
	if err != nil {
		return failure(err)
	}
	sig := started.Session.SignatureID
	r := success(idvmock.GenerateURLData{SignatureID: sig, URL: req.H5URL + sig}, true)
	r.Trace.Source = "started session " + sig
	return r
}

// resultReply answers Get Result.
func (e *Engine) resultReply(ctx context.Context, req *Request) Reply {
	switch req.ImageType {
	case "", idvmock.ImageTypeURL, idvmock.ImageTypeBase64:
	default: // the HTTP side refuses it already, against openapi.yaml
		return answer(idvmock.CodeParameterError, fmt.Sprintf("returnImageType must be %q or %q, not %q.",
			idvmock.ImageTypeURL, idvmock.ImageTypeBase64, req.ImageType))
	}
	raw, err := e.Result(ctx, req.SignatureID, *req)
	if err != nil {
		return resultFailed(err)
	}
	r := success(raw, false)
	r.Trace.Source = "session " + req.SignatureID
	return r
}

// resultFailed is the reply of Get Result when it could not be answered.
func resultFailed(err error) Reply {
	var notBuilt *BuildError
	switch {
	case errors.Is(err, ErrUnknownSignature):
		return answer(idvmock.CodeSignatureNotExist, idvmock.MessageSignatureNotExist)
	case errors.As(err, &notBuilt):
		return unbuilt(notBuilt)
	}
	return failure(err)
}
