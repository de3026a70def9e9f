package engine

import (
	"encoding/json"
	"testing"

	"github.com/idvmock/idvmock"
)

// A started session's document is built only when it is the latest of its docType; what Get
// Profile answers is still what Get Result answers for that session.
func TestProfileDocumentsOfStartedSessionsAreTheirResults(t *testing.T) {
	e, _ := newTestEngine(t)
	var sigs []string
	for _, country := range []string{"PHL", "SGP", "PHL", "THA"} {
		s := start(t, e, StartRequest{UserID: "traveller", BizID: "b", Region: country})
		sigs = append(sigs, s.Session.SignatureID)
		verdict := idvmock.VerdictPass
		if country == "THA" {
			verdict = idvmock.VerdictFail // a failed session gives the profile no document
		}
		if _, err := e.Complete(t.Context(), s.Session.SignatureID, Completion{OverallResult: verdict}); err != nil {
			t.Fatal(err)
		}
	}
	r := e.Handle(t.Context(), Request{Operation: idvmock.OpGetProfile, UserID: "traveller", Region: "global", Country: "IDN"})
	data, ok := r.Data.(*idvmock.ProfileData)
	if !ok || len(data.SignatureIDs) != 4 || len(data.DocumentInfos) != 2 {
		t.Fatalf("%s %s %+v", r.Code, r.Message, r.Data)
	}
	for i, want := range map[int]string{0: sigs[2], 1: sigs[1]} { // PH-ID-SSS, SG-ID-N: the latest PASS of each
		var doc struct {
			DocType   string
			DocDetail struct{ Front map[string]any }
		}
		json.Unmarshal(data.DocumentInfos[i], &doc)
		res := e.Handle(t.Context(), Request{Operation: idvmock.OpGetResult, SignatureID: want, Region: "global", Country: "IDN"})
		var result struct{ DocDetail map[string]any }
		json.Unmarshal(res.Data.(json.RawMessage), &result)
		if doc.DocType != result.DocDetail["docType"] || doc.DocDetail.Front["idNumber"] != result.DocDetail["idNumber"] {
			t.Errorf("document %d: %s %v, want session %s's %v %v", i, doc.DocType, doc.DocDetail.Front["idNumber"],
				want, result.DocDetail["docType"], result.DocDetail["idNumber"])
		}
	}
}
