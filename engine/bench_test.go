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
