package main

// The attack pass on a shared, long-running mock (issue 10), replayed against serve as a
// user runs it. Each case is one finding; the unit tests that go deeper are named beside it:
// scenarios/attack_test.go (templates, bounds, locks, reload, decoding), mockserver/
// attack_test.go (HTTP), mockserver/callbacks_test.go, mockserver/tls_test.go (the CA),
// contract/record_test.go and contract/proxymem_test.go (recordings, proxy memory).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAttackReplay(t *testing.T) {
	t.Run("an if without else crashed lint and serve --watch and PUT users", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "if.yaml")
		write := func(bizID string) {
			yaml := fmt.Sprintf("users:\n  qa_if:\n    profileStatus: INIT\n    sessions: [{bizId: '%s'}]\n", bizID)
			if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(`{{ if eq .region "sg" }}SG{{ end }}`)
		if code, out, errOut := runCLI(t, "scenarios", "lint", dir); code != 0 {
			t.Fatalf("lint: %d %s%s", code, out, errOut)
		}
		addr, stop := startServe(t, "--scenarios", dir, "--watch", "--watch-interval", "20ms", "--watch-settle", "50ms")
		defer stop()
		write(`{{ with .country }}{{ . }}{{ else }}none{{ end }}`)
		eventually(t, "the reload with a with-else applies", func() bool {
			return latest(t, addr, "userId=qa_if", "ph-api.advance.ai", nil).Data.Result["inputParameters"].(map[string]any)["bizId"] == "PHL"
		})
		put := do(t, http.MethodPut, "http://"+addr+"/__admin/users/qa_put", "", nil, `{"profileStatus":"INIT","sessions":[{"bizId":"{{ range 2 }}{{ if eq $.region \"sg\" }}SG{{ end }}{{ end }}"}]}`)
		if put.status != http.StatusOK {
			t.Errorf("PUT: %d", put.status)
		}
		if got := latest(t, addr, "userId=qa_put", "sg-api.advance.ai", nil).Data.Result["inputParameters"].(map[string]any)["bizId"]; got != "SGSG" {
			t.Errorf("bizId %v", got)
		}
	})

	t.Run("Generate URL input was evaluated as a template", func(t *testing.T) {
		addr, stop := startServe(t)
		defer stop()
		for i, hostile := range []string{`{{`, `{{range 2000000}}ABCDEFGHIJ{{end}}`} {
			user := fmt.Sprintf("victim_%d", i)
			body, _ := json.Marshal(map[string]string{"userId": user, "bizId": hostile, "n": hostile, "region": "PHL", "returnUrl": "a", "failReturnUrl": "b"})
			if a := do(t, http.MethodPost, "http://"+addr+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/generate-ekyc-verification-url", "", nil, string(body)); a.Code != "SUCCESS" {
				t.Fatalf("generate: %d %s", a.status, a.Code)
			}
			for range 8 {
				a := latest(t, addr, "userId="+user, "", nil)
				in, _ := a.Data.Result["inputParameters"].(map[string]any)
				if a.status != http.StatusOK || a.Code != "SUCCESS" || in["bizId"] != hostile || in["n"] != hostile {
					t.Fatalf("poll of %q: HTTP %d %s %v", hostile, a.status, a.Code, in)
				}
			}
		}
	})

	t.Run("started sessions and admin users grew without bound", func(t *testing.T) {
		addr, stop := startServe(t, "--max-started-sessions", "50", "--max-admin-users", "3")
		defer stop()
		for i := range 200 {
			body := fmt.Sprintf(`{"userId":"u%d","bizId":"b","region":"PHL","returnUrl":"a","failReturnUrl":"b"}`, i)
			do(t, http.MethodPost, "http://"+addr+"/intl/openapi/identity-risk/idvs-h5/ekyc/v1/generate-ekyc-verification-url", "", nil, body)
		}
		var state struct {
			Started []json.RawMessage `json:"startedSessions"`
		}
		getJSON(t, "http://"+addr+"/__admin/state", "", &state)
		if len(state.Started) != 50 {
			t.Errorf("%d started sessions kept, bound 50", len(state.Started))
		}
		statuses := []int{}
		for i := range 4 {
			statuses = append(statuses, do(t, http.MethodPut, fmt.Sprintf("http://%s/__admin/users/qa_%d", addr, i), "", nil, `{"scenario":"active"}`).status)
		}
		if fmt.Sprint(statuses) != "[200 200 200 507]" {
			t.Errorf("PUT statuses %v, want the fourth refused", statuses)
		}
	})

	t.Run("the admin API was open to the network by default", func(t *testing.T) {
		addr, log, stop := startServeLogged(t, "--addr", ":0")
		defer stop()
		if got := adminStatus(t, addr, "/__admin/requests", ""); got != http.StatusUnauthorized {
			t.Errorf("the journal without a token: %d", got)
		}
		if !strings.Contains(log.String(), "adminToken") {
			t.Error("no token logged")
		}
	})

	t.Run("the CA was loaded from a 0777 folder with a 0666 key", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "ca")
		if code, _, errOut := runCLI(t, "ca", "path", "--ca-dir", dir); code != 0 {
			t.Fatalf("create: %s", errOut)
		}
		os.Chmod(dir, 0o777)
		os.Chmod(filepath.Join(dir, "ca-key.pem"), 0o666)
		if code, _, errOut := runCLI(t, "ca", "print", "--ca-dir", dir); code != 1 || !strings.Contains(errOut, "chmod 700") {
			t.Errorf("a planted CA: exit %d %s", code, errOut)
		}
	})
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 250 {
		if cond() {
			return
		}
		sleepMillis(20)
	}
	t.Fatalf("not so after 5 s: %s", what)
}
