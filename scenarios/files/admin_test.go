package files

import (
	"errors"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

func TestAdminPutAndDeleteUser(t *testing.T) {
	e := newTestEngine(t)
	err := putUser(e, "carol", (`{"profileStatus": "ACTIVE", "sessions": [{"overallResult": "PASS", "errorCode": "LIVENESS_ATTACK"}]}`))
	var problems scenarios.Problems
	if !asProblems(err, &problems) || problems[0].Path != "carol.sessions[0].errorCode" || problems[0].Line != 1 {
		t.Fatalf("a PASS with a failure code must be refused with its place: %v", err)
	}
	if err := putUser(e, "carol", ("profileStatus: INIT\nsessions:\n  - state: submitted\n")); err != nil {
		t.Fatal(err)
	}
	if out := ask(t, e, engine.Request{UserID: "carol"}); out.Code != idvmock.CodeSuccess || out.Data.ProfileStatus != idvmock.ProfileInit {
		t.Fatalf("carol: %s", out.Message)
	}
	if err := putUser(e, "user_active", (`{"scenario": "failed"}`)); err != nil {
		t.Fatal(err)
	}
	if r := result(t, ask(t, e, engine.Request{UserID: "user_active"})); *r.OverallResult != idvmock.VerdictFail {
		t.Error("a built-in user replaced through the admin API")
	}
	if err := e.DeleteUser(t.Context(), "user_init"); err != nil {
		t.Fatal(err)
	}
	if out := ask(t, e, engine.Request{UserID: "user_init"}); out.Message != idvmock.MessageUserNotFound {
		t.Errorf("a deleted user still answers: %s", out.Code)
	}
	if err := e.DeleteUser(t.Context(), "user_init"); !errors.Is(err, engine.ErrUnknownUser) {
		t.Errorf("deleting twice: %v", err)
	}
	if err := putUser(e, "carol", (`{"scenario": "nope"}`)); err == nil {
		t.Error("an unknown scenario was accepted")
	}
	if out := ask(t, e, engine.Request{UserID: "carol"}); out.Code != idvmock.CodeSuccess {
		t.Error("a refused put changed carol")
	}
}
