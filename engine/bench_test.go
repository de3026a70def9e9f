package engine

import (
	"net/http"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	files, err := builtinFilesErr(b)
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewEngine(0, files, nil)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// Scenario lookup and the answer of a declared user, its result built once and cached.
func BenchmarkAnswerDeclaredUser(b *testing.B) {
	e := benchEngine(b)
	req := Request{Operation: "getLatestSessionResult", UserID: "user_active", Region: "sg", Country: "SGP"}
	b.ReportAllocs()
	for b.Loop() {
		if r := e.Handle(b.Context(), req); r.Code != idvmock.CodeSuccess {
			b.Fatal(r.Code, r.Trace)
		}
	}
}

// Body generation alone: seeded fake data, face and document steps, JSON.
func BenchmarkBuildResult(b *testing.B) {
	s := Session{SignatureID: "455d0b0e17e8", SolutionCode: "101", State: scenarios.StateFinished, Verdict: idvmock.VerdictPass, BizID: "biz1"}
	data := tmpl.Data{UserID: "user_active", Region: "sg", Country: "SGP"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildResult(0, 0, s, data); err != nil {
			b.Fatal(err)
		}
	}
}

// The rules' decision for a request that no rule matches.
func BenchmarkDecide(b *testing.B) {
	e := benchEngine(b)
	req := Request{Operation: "getLatestSessionResult", UserID: "user_active", Region: "sg", Header: http.Header{"X-Access-Token": {"t"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.decide(b.Context(), e.Set(), &req); err != nil {
			b.Fatal(err)
		}
	}
}

// Get Result of a passed session with returnImageType BASE64: the result built, and its three
// face images and the document's drawn, JPEG-encoded and base64-encoded (nothing is cached).
func BenchmarkGetResultBase64(b *testing.B) {
	e := benchEngine(b)
	s, err := e.StartSession(b.Context(), StartRequest{UserID: "bench", Region: "SGP"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.Complete(b.Context(), s.Session.SignatureID, Completion{OverallResult: idvmock.VerdictPass}); err != nil {
		b.Fatal(err)
	}
	req := Request{Operation: idvmock.OpGetResult, SignatureID: s.Session.SignatureID, Region: "sg", Country: "SGP", ImageType: idvmock.ImageTypeBase64}
	b.ReportAllocs()
	for b.Loop() {
		if r := e.Handle(b.Context(), req); r.Code != idvmock.CodeSuccess {
			b.Fatal(r.Code, r.Message)
		}
	}
}

// A session's four images drawn and JPEG-encoded, without the cache: what the first BASE64
// answer of a session costs on top of the result.
func BenchmarkSessionImages(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sessionImages(0, "bench", "455d0b0e17e8", 1001); err != nil {
			b.Fatal(err)
		}
	}
}

// Get Profile of a user with the default bound of started sessions (100), all passed: one
// document is built, whatever the number of sessions.
func BenchmarkGetProfileManyStartedSessions(b *testing.B) {
	e := benchEngine(b)
	for i := range DefaultMaxSessionsPerUser {
		s := start(b, e, StartRequest{UserID: "regular", BizID: "b", Region: []string{"PHL", "SGP"}[i%2]})
		if _, err := e.Complete(b.Context(), s.Session.SignatureID, Completion{OverallResult: idvmock.VerdictPass}); err != nil {
			b.Fatal(err)
		}
	}
	req := Request{Operation: idvmock.OpGetProfile, UserID: "regular", Region: "ph", Country: "PHL"}
	b.ReportAllocs()
	for b.Loop() {
		r := e.Handle(b.Context(), req)
		if data, ok := r.Data.(*idvmock.ProfileData); !ok || len(data.SignatureIDs) != DefaultMaxSessionsPerUser || len(data.DocumentInfos) != 2 {
			b.Fatal(r.Code, r.Message, r.Data)
		}
	}
}
