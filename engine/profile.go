package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// The customer-profile family besides Get Latest Session Result: Get Profile and Update
// Status. They answer from the same model: the source that would answer Get Latest for the
// userId, in the state it stands in now. They read where the user stands without counting a
// call: only Get Latest, the endpoint apps poll, moves a user on.

// standing is a userId's profile as Get Profile and Update Status see it.
type standing struct {
	src    source
	at     answering
	status idvmock.ProfileStatus // INIT: no profile yet
}

// stand finds where req.UserID's profile stands, or the reply that answers instead: an
// unknown user's, a forced answer's. A store that fails is an error.
func (e *Engine) stand(ctx context.Context, set *Set, req *Request, d Decision) (standing, *Reply, error) {
	var st standing
	if err := e.source(set, req, d, &st.src); err != nil {
		return st, nil, err
	}
	src := &st.src
	if src.profile == nil {
		started, status, err := e.stored().UserSessions(ctx, req.UserID)
		if err != nil {
			return st, nil, storeError(err)
		}
		src.started, src.status = started, status
		if len(started) == 0 {
			r := notFound(set, req)
			return st, &r, nil
		}
		src.label = "user " + req.UserID + " (started through Generate URL)"
		st.at = answering{state: State{Status: idvmock.ProfileInit}}
		st.status = cmp.Or(status, idvmock.ProfileInit)
		return st, nil, nil
	}
	if len(src.regions) > 0 && !slices.Contains(src.regions, req.Region) {
		r := notFound(set, req)
		return st, &r, nil
	}
	at, err := e.peek(ctx, src)
	if err != nil {
		return st, nil, err
	}
	st.at = at
	switch at.state.Answer {
	case scenarios.AnswerSession:
	case scenarios.AnswerBadSolutionCode: // Get Latest's own: this state has no profile
		r := notFound(set, req)
		return st, &r, nil
	default:
		r := forced(at.state.Answer)
		return st, &r, nil
	}
	st.status = cmp.Or(src.status, at.state.Status)
	return st, nil, nil
}

// notFound is the answer for a userId nothing answers, with the near misses traced.
func notFound(set *Set, req *Request) Reply {
	r := forced(scenarios.AnswerUserNotFound)
	r.Trace.Unmatched, r.Trace.NearMisses = true, set.nearMisses(req, 3)
	return r
}

// peek returns the state src's profile stands in, without counting a call, with the
// sessions started for a declared user. A progress of another definition stands at the
// first state.
func (e *Engine) peek(ctx context.Context, src *source) (answering, error) {
	pr, found, err := e.stored().Progress(ctx, src.key)
	if err != nil {
		return answering{}, storeError(err)
	}
	if src.key.Kind == ProgressUser {
		if src.started, src.status, err = e.stored().UserSessions(ctx, src.key.UserID); err != nil {
			return answering{}, storeError(err)
		}
	}
	i := 0
	if found && pr.Hash == src.hash && pr.State < len(src.profile.States) {
		i = pr.State
	}
	at := answering{index: i, state: src.profile.States[i], sessions: src.states[i]}
	if len(src.profile.States) > 1 {
		at.label = stateLabel(src.profile, i)
	}
	return at, nil
}

// profileReply answers Get Profile: the profile's status, the documents of the latest PASS
// session of each document type, and every session's signatureId. A userId without a profile
// (unknown, or still INIT) answers PARAMETER_ERROR externalUserId does not exist.
func (e *Engine) profileReply(ctx context.Context, set *Set, req *Request, d Decision) Reply {
	st, forcedReply, err := e.stand(ctx, set, req, d)
	switch {
	case err != nil:
		return latestFailed(err)
	case forcedReply != nil:
		forcedReply.Trace.Source, forcedReply.Trace.State = st.src.label, st.at.label
		return *forcedReply
	case st.status == idvmock.ProfileInit:
		r := forced(scenarios.AnswerUserNotFound)
		r.Trace.Source, r.Trace.State = st.src.label, st.at.label
		r.Trace.Note = "the profile is INIT: it has no profile yet, so Get Profile answers that it does not exist"
		return r
	}
	data, err := e.profileData(req, &st)
	if err != nil {
		return latestFailed(err)
	}
	r := success(data, true)
	r.Trace.Source, r.Trace.Scenario, r.Trace.State = st.src.label, st.src.scenario, st.at.label
	return r
}

// updateStatusReply answers Update Status: INACTIVE deactivates the profile (Get Latest and
// Get Profile say INACTIVE from then on); the vendor supports no other status. A userId
// without a profile answers PARAMETER_ERROR Invalid externalUserId, please check it.
func (e *Engine) updateStatusReply(ctx context.Context, set *Set, req *Request, d Decision) Reply {
	if req.ProfileStatus != idvmock.ProfileInactive {
		return answer(idvmock.CodeParameterError, fmt.Sprintf(
			"status %q is currently not supported: Update Status can only set INACTIVE", req.ProfileStatus))
	}
	st, forcedReply, err := e.stand(ctx, set, req, d)
	switch {
	case err != nil:
		return latestFailed(err)
	case forcedReply != nil && forcedReply.Code == idvmock.CodeParameterError, forcedReply == nil && st.status == idvmock.ProfileInit:
		r := answer(idvmock.CodeParameterError, idvmock.MessageInvalidExternalUserID)
		r.Trace = forcedReply.traceOr(st.src.label, st.at.label)
		return r
	case forcedReply != nil:
		forcedReply.Trace.Source, forcedReply.Trace.State = st.src.label, st.at.label
		return *forcedReply
	case st.src.key.Kind != ProgressUser:
		r := answer(idvmock.CodeParameterError, idvmock.MessageInvalidExternalUserID)
		r.Trace.Source, r.Trace.State = st.src.label, st.at.label
		r.Trace.Note = "only a user declared in a scenario file or through the admin API, or one with sessions started through Generate URL, has a profile to deactivate; " +
			st.src.label + " answers any userId"
		return r
	}
	if err := e.stored().Deactivate(ctx, req.UserID); err != nil {
		return failure(storeError(err))
	}
	r := success(nil, true)
	r.Trace.Source, r.Trace.Scenario, r.Trace.State = st.src.label, st.src.scenario, st.at.label
	r.Trace.Note = "profile deactivated (was " + string(st.status) + ")"
	return r
}

// traceOr is r's trace, or one naming source and state when r is nil.
func (r *Reply) traceOr(source, state string) Trace {
	if r != nil {
		return r.Trace
	}
	return Trace{Source: source, State: state}
}

// profileData builds Get Profile's data from the state's sessions and those started for the
// userId, the documents as Get Result answers them; the state's customerProfile sets parts of
// it. A declared session is built (its result is cached); a started one is built only when
// its document is the latest of its docType, which its country decides, so that a user with
// many started sessions costs one build per document type.
func (e *Engine) profileData(req *Request, st *standing) (*idvmock.ProfileData, error) {
	nDeclared := len(st.at.sessions)
	sessions := slices.Clip(st.at.sessions)
	for _, s := range st.src.started {
		sessions = append(sessions, s.Session)
	}
	order := make([]int, len(sessions)) // oldest first; of equal times, the later-listed last
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return sessions[a].CreatedAt.Compare(sessions[b].CreatedAt) })
	type document struct {
		index int
		info  json.RawMessage // nil: a started session's, built once it is known to be the latest
	}
	data := &idvmock.ProfileData{Status: st.status, DocumentInfos: []json.RawMessage{}, SignatureIDs: []string{}}
	latest := map[string]document{} // a later session's document replaces an earlier one's
	for _, i := range order {
		if s := sessions[i]; i >= nDeclared {
			data.SignatureIDs = append(data.SignatureIDs, s.SignatureID) // literal: never a template
			if s.State == scenarios.StateFinished && s.Verdict == idvmock.VerdictPass {
				latest[docTypeOf(cmp.Or(s.Region, req.Country))] = document{index: i}
			}
			continue
		}
		built, err := e.profileSession(req, st, sessions, i)
		if err != nil {
			return nil, err
		}
		data.SignatureIDs = append(data.SignatureIDs, built.SignatureID)
		if built.OverallResult != idvmock.VerdictPass {
			continue
		}
		if docType, info, ok := documentInfo(built.DocDetail); ok {
			latest[docType] = document{index: i, info: info}
		}
	}
	for _, docType := range sortedKeys(latest) {
		doc := latest[docType]
		if doc.info == nil {
			built, err := e.profileSession(req, st, sessions, doc.index)
			if err != nil {
				return nil, err
			}
			if _, doc.info, _ = documentInfo(built.DocDetail); doc.info == nil {
				continue
			}
		}
		data.DocumentInfos = append(data.DocumentInfos, doc.info)
	}
	return data, customize(data, st.at.state.Customer)
}

// builtSession is what Get Profile reads of a session's Get Result object.
type builtSession struct {
	SignatureID   string          `json:"signatureId"`
	OverallResult idvmock.Verdict `json:"overallResult"`
	DocDetail     json.RawMessage `json:"docDetail"`
}

// profileSession builds session i of sessions as Get Result answers it.
func (e *Engine) profileSession(req *Request, st *standing, sessions []Session, i int) (builtSession, error) {
	tdata := tmpl.Data{UserID: req.UserID, Region: req.Region, Country: req.Country, SolutionCode: sessions[i].SolutionCode}
	raw, err := e.buildLatest(st.src.profile, st.at.index, i, len(st.at.sessions), sessions, st.src.started, tdata)
	if err != nil {
		return builtSession{}, &BuildError{Source: st.src.label, Err: err}
	}
	var built builtSession
	if err := json.Unmarshal(raw, &built); err != nil {
		return builtSession{}, &BuildError{Source: st.src.label, Err: err}
	}
	return built, nil
}

// customize sets what a state's customerProfile declares over data: a list given and not
// empty is answered as given.
func customize(data *idvmock.ProfileData, c *scenarios.CustomerProfileSpec) error {
	if c == nil {
		return nil
	}
	if len(c.DocumentInfos) > 0 {
		data.DocumentInfos = data.DocumentInfos[:0]
		for _, doc := range c.DocumentInfos {
			raw, err := json.Marshal(doc)
			if err != nil {
				return &BuildError{Source: "customerProfile", Err: fmt.Errorf("documentInfos: %w", err)}
			}
			data.DocumentInfos = append(data.DocumentInfos, raw)
		}
	}
	if len(c.SignatureIDs) > 0 {
		data.SignatureIDs = slices.Clone(c.SignatureIDs)
	}
	return nil
}

// profileFront lists the fields the vendor documents first in a profile document's front
// side, in its order.
var profileFront = []string{"idNumber", "documentNumber", "fullName", "fullNameLocal", "lastName"}

// documentInfo turns a Get Result docDetail into a Get Profile document: its docType, the
// subtype (the docType's last part: SSS of PH-ID-SSS), and the OCR of the front side, with
// the vendor's first fields first. Image fields stay with the session. ok is false for a
// session without a document.
func documentInfo(docDetail json.RawMessage) (docType string, info json.RawMessage, ok bool) {
	if len(docDetail) == 0 || string(docDetail) == "null" {
		return "", nil, false
	}
	doc, err := decodeObject(docDetail)
	if err != nil {
		return "", nil, false
	}
	docType, _ = doc.stringValue("docType")
	if docType == "" {
		return "", nil, false
	}
	front := &object{values: map[string]any{}}
	for _, k := range profileFront {
		front.set(k, doc.values[k])
	}
	if front.values["documentNumber"] == nil {
		front.set("documentNumber", doc.values["idNumber"])
	}
	if front.values["fullNameLocal"] == nil {
		front.set("fullNameLocal", doc.values["fullName"])
	}
	for _, k := range doc.keys {
		if k != "docType" && !strings.HasSuffix(k, "Image") && !strings.HasSuffix(k, "ImageUrl") {
			front.set(k, doc.values[k])
		}
	}
	var subDocType any
	if i := strings.LastIndexByte(docType, '-'); i >= 0 && i < len(docType)-1 {
		subDocType = docType[i+1:]
	}
	out := &object{values: map[string]any{}}
	out.set("docType", docType)
	out.set("subDocType", subDocType)
	out.set("docDetail", &object{keys: []string{"front"}, values: map[string]any{"front": front}})
	raw, err := out.MarshalJSON()
	return docType, raw, err == nil
}
