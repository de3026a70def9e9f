package mockserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
)

// profileCall asks Get Profile for externalUserId on one of its two paths.
func profileCall(path, externalUserID, host string) call {
	target := path
	if externalUserID != "\x00" {
		target += "?externalUserId=" + url.QueryEscape(externalUserID)
	}
	return call{target: target, host: host, header: map[string]string{idvmock.TokenHeader: "t"}}
}

// statusCall asks Update Status to set status on externalUserId.
func statusCall(externalUserID, status, host string) call {
	body, _ := json.Marshal(map[string]string{"externalUserId": externalUserID, "status": status})
	return call{method: http.MethodPost, target: idvmock.PathUpdateStatus, host: host, body: string(body),
		header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"}}
}

// profileData is Get Profile's data as the tests read it.
type profileData struct {
	Status        string
	DocumentInfos []struct {
		DocType    string
		SubDocType *string
		DocDetail  struct{ Front map[string]any }
	}
	SignatureIDs []string
}

// getProfile asks Get Profile, checks the answer against openapi.yaml and returns it.
func getProfile(t *testing.T, s *Server, sc *specChecker, c call) (envelope, profileData) {
	t.Helper()
	rec := serve(t, s, c)
	sc.check(t, c, rec)
	if rec.Code != http.StatusOK {
		t.Fatalf("%s (Host %s): HTTP %d: %s", c.target, c.host, rec.Code, rec.Body)
	}
	env := decode(t, rec)
	var data profileData
	if env.Code == idvmock.CodeSuccess {
		if err := json.Unmarshal(env.Data, &data); err != nil {
			t.Fatal(err)
		}
	}
	return env, data
}

// Every code and message of Get Profile, on both paths and all six hosts.
func TestGetProfileAnswersOnBothPathsAndEveryHost(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	cases := []struct {
		user, code, message, status string
		docs                        int
		sigs                        int
	}{
		{"user_active", idvmock.CodeSuccess, idvmock.MessageOK, "ACTIVE", 1, 1},
		{"user_inactive", idvmock.CodeSuccess, idvmock.MessageOK, "INACTIVE", 1, 1},
		{"user_reverify", idvmock.CodeSuccess, idvmock.MessageOK, "ACTIVE", 1, 2},
		{"user_multi", idvmock.CodeSuccess, idvmock.MessageOK, "ACTIVE", 1, 2},
		{"user_init", idvmock.CodeParameterError, idvmock.MessageUserNotFound, "", 0, 0},
		{"user_failed", idvmock.CodeParameterError, idvmock.MessageUserNotFound, "", 0, 0},
		{"nobody", idvmock.CodeParameterError, idvmock.MessageUserNotFound, "", 0, 0},
		{"user_error", idvmock.CodeError, idvmock.MessageServerError, "", 0, 0},
		{"", idvmock.CodeParameterError, "externalUserId should not be empty.", "", 0, 0},
	}
	for _, path := range []string{idvmock.PathGetProfile, idvmock.PathGetProfileCamel} {
		for _, host := range vendorHosts {
			for _, tc := range cases {
				env, data := getProfile(t, s, sc, profileCall(path, tc.user, host))
				where := fmt.Sprintf("%s on %s for %q", path[strings.LastIndexByte(path, '/')+1:], host, tc.user)
				if env.Code != tc.code || env.Message != tc.message {
					t.Errorf("%s: %s %q, want %s %q", where, env.Code, env.Message, tc.code, tc.message)
					continue
				}
				if data.Status != tc.status || len(data.DocumentInfos) != tc.docs || len(data.SignatureIDs) != tc.sigs {
					t.Errorf("%s: status %q, %d documents, %d signatureIds; want %q, %d, %d",
						where, data.Status, len(data.DocumentInfos), len(data.SignatureIDs), tc.status, tc.docs, tc.sigs)
				}
			}
		}
	}
}

// A profile's document is the OCR of its latest PASS session, and its signatureIds are the
// sessions Get Latest and Get Result answer for.
func TestGetProfileDocumentsComeFromTheSessions(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	_, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "user_active", "ph-api.advance.ai"))
	rec := serve(t, s, latestCall("userId=user_active", "ph-api.advance.ai"))
	var latest struct {
		Data struct {
			Result struct {
				SignatureID string
				DocDetail   map[string]any
			}
		}
	}
	json.Unmarshal(rec.Body.Bytes(), &latest)
	result := latest.Data.Result
	if len(data.DocumentInfos) != 1 || !slices.Equal(data.SignatureIDs, []string{result.SignatureID}) {
		t.Fatalf("profile %+v against the latest session %s", data, rec.Body)
	}
	doc := data.DocumentInfos[0]
	if doc.DocType != result.DocDetail["docType"] || doc.SubDocType == nil || !strings.HasSuffix(doc.DocType, "-"+*doc.SubDocType) {
		t.Errorf("docType %q subDocType %v, the session's docType %v", doc.DocType, doc.SubDocType, result.DocDetail["docType"])
	}
	front := doc.DocDetail.Front
	for _, k := range []string{"idNumber", "fullName", "lastName"} {
		if front[k] != result.DocDetail[k] || front[k] == nil {
			t.Errorf("front.%s = %v, the session's %v", k, front[k], result.DocDetail[k])
		}
	}
	if front["documentNumber"] != result.DocDetail["idNumber"] || front["fullNameLocal"] != result.DocDetail["fullName"] {
		t.Errorf("front %v does not carry documentNumber and fullNameLocal from the session's OCR", front)
	}
}

// Get Profile reads where a user stands and does not move it on: only Get Latest counts.
func TestGetProfileDoesNotCountACall(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/stepper", `{"states":[
 {"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}],"after":"1 call"},
 {"profileStatus":"INACTIVE","sessions":[{"overallResult":"PASS"},{"overallResult":"PASS"}]}]}`), http.StatusOK)
	for range 3 {
		if _, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "stepper", "api.advance.ai")); data.Status != "ACTIVE" {
			t.Fatalf("before any Get Latest: status %q, want ACTIVE", data.Status)
		}
	}
	serve(t, s, latestCall("userId=stepper", "api.advance.ai"))
	serve(t, s, latestCall("userId=stepper", "api.advance.ai"))
	if _, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "stepper", "api.advance.ai")); data.Status != "INACTIVE" || len(data.SignatureIDs) != 2 {
		t.Errorf("after the user moved on: %+v, want INACTIVE with 2 signatureIds", data)
	}
}

// A state's customerProfile is answered as given; what it leaves out is derived.
func TestGetProfileAnswersWhatAScenarioDeclares(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/declared", `{"profileStatus":"ACTIVE",
 "sessions":[{"overallResult":"PASS","signatureId":"sig-declared"}],
 "customerProfile":{"documentInfos":[{"docType":"PH-ID-UMID","subDocType":"UMID","docDetail":{"front":{"idNumber":"{{.UserID}}","fullName":"JUAN DELA CRUZ"}}}]}}`), http.StatusOK)
	_, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfileCamel, "declared", "ph-api.advance.ai"))
	if len(data.DocumentInfos) != 1 || data.DocumentInfos[0].DocType != "PH-ID-UMID" ||
		data.DocumentInfos[0].DocDetail.Front["idNumber"] != "{{.UserID}}" {
		t.Errorf("declared documentInfos: %+v (given as data, never evaluated)", data.DocumentInfos)
	}
	if !slices.Equal(data.SignatureIDs, []string{"sig-declared"}) {
		t.Errorf("signatureIds %v, want those of the sessions", data.SignatureIDs)
	}
	bad := adminCall(http.MethodPut, "/__admin/users/twice", `{"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}],
 "customerProfile":{"documentInfos":[{"docType":"A-ID-N"},{"docType":"A-ID-N"}]}}`)
	rec := serve(t, s, bad)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "customerProfile.documentInfos[1].docType") {
		t.Errorf("a docType listed twice: HTTP %d %s", rec.Code, rec.Body)
	}
}

// Every code and message of Update Status on all six hosts.
func TestUpdateStatusAnswersOnEveryHost(t *testing.T) {
	for _, host := range vendorHosts {
		s := newTestServer(t, Config{})
		sc := newSpecChecker(t)
		for _, tc := range []struct {
			user, status, code, message string
		}{
			{"nobody", "INACTIVE", idvmock.CodeParameterError, idvmock.MessageInvalidExternalUserID},
			{"user_init", "INACTIVE", idvmock.CodeParameterError, idvmock.MessageInvalidExternalUserID},
			{"user_active", "ACTIVE", idvmock.CodeParameterError, `status "ACTIVE" is currently not supported: Update Status can only set INACTIVE`},
			{"user_active", "DELETED", idvmock.CodeParameterError, `status must be "INACTIVE" or "ACTIVE", not "DELETED".`},
			{"user_error", "INACTIVE", idvmock.CodeError, idvmock.MessageServerError},
			{"user_active", "INACTIVE", idvmock.CodeSuccess, idvmock.MessageOK},
			{"user_active", "INACTIVE", idvmock.CodeSuccess, idvmock.MessageOK}, // twice is one deactivation
			{"user_inactive", "INACTIVE", idvmock.CodeSuccess, idvmock.MessageOK},
		} {
			c := statusCall(tc.user, tc.status, host)
			rec := serve(t, s, c)
			sc.check(t, c, rec)
			env := decode(t, rec)
			if rec.Code != http.StatusOK || env.Code != tc.code || env.Message != tc.message || string(env.Data) != "null" {
				t.Errorf("%s: %s %s: HTTP %d %s", host, tc.user, tc.status, rec.Code, rec.Body)
			}
		}
	}
}

// The journey QA scripts through the vendor's own API: deactivate a profile, then poll. Get
// Latest and Get Profile say INACTIVE; the saved state lists it; a reset undoes it.
func TestUpdateStatusThenGetLatestSaysInactive(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	latestStatus := func() string {
		c := latestCall("userId=user_active", "th-api.advance.ai")
		rec := serve(t, s, c)
		sc.check(t, c, rec)
		var body struct {
			Data struct{ ProfileStatus string }
		}
		json.Unmarshal(rec.Body.Bytes(), &body)
		return body.Data.ProfileStatus
	}
	if got := latestStatus(); got != "ACTIVE" {
		t.Fatalf("before: %s", got)
	}
	if env := decode(t, serve(t, s, statusCall("user_active", "INACTIVE", "th-api.advance.ai"))); env.Code != idvmock.CodeSuccess {
		t.Fatalf("update status: %+v", env)
	}
	if got := latestStatus(); got != "INACTIVE" {
		t.Errorf("Get Latest after Update Status: %s, want INACTIVE", got)
	}
	for _, host := range vendorHosts {
		if _, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "user_active", host)); data.Status != "INACTIVE" {
			t.Errorf("Get Profile on %s after Update Status: %q", host, data.Status)
		}
	}
	state := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/state", ""), http.StatusOK)
	if statuses, _ := state["profileStatuses"].(map[string]any); statuses["user_active"] != "INACTIVE" {
		t.Errorf("GET /__admin/state profileStatuses: %v", state["profileStatuses"])
	}
	journal := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/requests?userId=user_active", ""), http.StatusOK)
	if !strings.Contains(fmt.Sprint(journal), idvmock.OpUpdateStatus) {
		t.Errorf("the journal does not show the Update Status call: %v", journal)
	}
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/reset", ""), http.StatusOK)
	if got := latestStatus(); got != "ACTIVE" {
		t.Errorf("after a reset: %s, want ACTIVE again", got)
	}
}

// A user known only through Generate URL has a profile once a session passed; deactivated,
// it stays INACTIVE whatever passes after.
func TestStartedUserProfileLifecycle(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	start := func() string {
		rec := serve(t, s, generateCall(`{"userId":"walk_in","bizId":"b1","region":"PHL","returnUrl":"myapp://done","failReturnUrl":"myapp://failed"}`))
		var body struct{ Data struct{ SignatureID string } }
		json.Unmarshal(rec.Body.Bytes(), &body)
		return body.Data.SignatureID
	}
	pass := func(sig string) {
		admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+sig+"/complete", `{"overallResult":"PASS"}`), http.StatusOK)
	}
	first := start()
	if env, _ := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "walk_in", "ph-api.advance.ai")); env.Message != idvmock.MessageUserNotFound {
		t.Errorf("INIT profile: %+v", env)
	}
	if env := decode(t, serve(t, s, statusCall("walk_in", "INACTIVE", "ph-api.advance.ai"))); env.Message != idvmock.MessageInvalidExternalUserID {
		t.Errorf("deactivating an INIT profile: %+v", env)
	}
	pass(first)
	_, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "walk_in", "ph-api.advance.ai"))
	if data.Status != "ACTIVE" || !slices.Equal(data.SignatureIDs, []string{first}) || len(data.DocumentInfos) != 1 {
		t.Errorf("after a PASS: %+v", data)
	}
	decode(t, serve(t, s, statusCall("walk_in", "INACTIVE", "ph-api.advance.ai")))
	second := start()
	pass(second)
	_, data = getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "walk_in", "ph-api.advance.ai"))
	if data.Status != "INACTIVE" || !slices.Equal(data.SignatureIDs, []string{first, second}) {
		t.Errorf("deactivated, then another PASS: %+v, want INACTIVE with both sessions", data)
	}
}

// A userId answered only by the scenario header or a rule's profile keeps nothing per user:
// there is no profile of its own to deactivate.
func TestUpdateStatusRefusesProfilesThatAnswerAnyUser(t *testing.T) {
	s := newTestServer(t, Config{})
	c := statusCall("anyone-at-all", "INACTIVE", "api.advance.ai")
	c.header["X-Mock-Scenario"] = "active"
	env := decode(t, serve(t, s, c))
	if env.Code != idvmock.CodeParameterError || env.Message != idvmock.MessageInvalidExternalUserID {
		t.Errorf("through the scenario header: %+v", env)
	}
	p := profileCall(idvmock.PathGetProfile, "anyone-at-all", "api.advance.ai")
	p.header["X-Mock-Scenario"] = "active"
	if env := decode(t, serve(t, s, p)); env.Code != idvmock.CodeSuccess {
		t.Errorf("Get Profile through the scenario header: %+v", env)
	}
}

// Deleting a user through the admin API ends its deactivation, as documented: declared again
// under the same userId, it is ACTIVE, and GET /__admin/state no longer lists it.
func TestDeleteUserEndsItsDeactivation(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	declare := adminCall(http.MethodPut, "/__admin/users/qa_gone", `{"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}]}`)
	admin(t, s, sc, declare, http.StatusOK)
	if env := decode(t, serve(t, s, statusCall("qa_gone", "INACTIVE", "api.advance.ai"))); env.Code != idvmock.CodeSuccess {
		t.Fatalf("update status: %+v", env)
	}
	admin(t, s, sc, adminCall(http.MethodDelete, "/__admin/users/qa_gone", ""), http.StatusOK)
	state := admin(t, s, sc, adminCall(http.MethodGet, "/__admin/state", ""), http.StatusOK)
	if statuses, _ := state["profileStatuses"].(map[string]any); statuses["qa_gone"] != nil {
		t.Errorf("GET /__admin/state after the delete lists %v", statuses)
	}
	admin(t, s, sc, declare, http.StatusOK)
	if _, data := getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "qa_gone", "api.advance.ai")); data.Status != "ACTIVE" {
		t.Errorf("deleted, then declared again: Get Profile status %q, want ACTIVE", data.Status)
	}
}

// A customerProfile is answered as given, so a document that breaks openapi.yaml's
// DocumentInfo is refused when it is declared, with the field named: the mock never answers
// a body its spec does not allow.
func TestCustomerProfileDocumentsFollowTheSpec(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret"})
	sc := newSpecChecker(t)
	for doc, path := range map[string]string{
		`{"docType":"A-ID-N"}`:                                        "customerProfile.documentInfos[0]",
		`{"docType":"A-ID-N","docDetail":5}`:                          "customerProfile.documentInfos[0].docDetail",
		`{"docType":"A-ID-N","docDetail":null,"subDocType":7}`:        "customerProfile.documentInfos[0].subDocType",
		`{"docType":"A-ID-N","docDetail":{"front":"x"}}`:              "customerProfile.documentInfos[0].docDetail.front",
		`{"docType":"A-ID-N","docDetail":{"front":{"idNumber":12}}}`:  "customerProfile.documentInfos[0].docDetail.front.idNumber",
		`{"docType":"A-ID-N","docDetail":{"front":{"lastName":[1]}}}`: "customerProfile.documentInfos[0].docDetail.front.lastName",
	} {
		rec := serve(t, s, adminCall(http.MethodPut, "/__admin/users/cp_bad", `{"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}],
 "customerProfile":{"documentInfos":[`+doc+`]}}`))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"path":"cp_bad.`+path+`"`) || !strings.Contains(rec.Body.String(), "DocumentInfo") {
			t.Errorf("documentInfos [%s]: HTTP %d %s, want 400 naming cp_bad.%s", doc, rec.Code, rec.Body, path)
		}
		c := profileCall(idvmock.PathGetProfile, "cp_bad", "sg-api.advance.ai")
		sc.check(t, c, serve(t, s, c))
	}
	good := `{"docType":"A-ID-N","subDocType":null,"docDetail":{"front":{"idNumber":"X1","fullName":null},"back":{"any":1}},"extra":true}`
	admin(t, s, sc, adminCall(http.MethodPut, "/__admin/users/cp_good", `{"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}],
 "customerProfile":{"documentInfos":[`+good+`]}}`), http.StatusOK)
	getProfile(t, s, sc, profileCall(idvmock.PathGetProfile, "cp_good", "sg-api.advance.ai"))
}
