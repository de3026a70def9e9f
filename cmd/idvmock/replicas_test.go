package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/redistest"
)

// replicas are three `idvmock serve` on one Redis, with a scripted user whose four states
// each answer exactly quarter calls.
type replicas struct {
	addrs  []string
	token  string
	client *http.Client
}

// stepperStates moves on after quarter calls each, and the fourth state stays.
func stepperFile(t *testing.T, quarter int) string {
	path := filepath.Join(t.TempDir(), "replicas.yaml")
	text := fmt.Sprintf(`users:
  stepper:
    states:
      - {profileStatus: INIT, sessions: [{state: in_progress}], after: %[1]d calls}
      - {profileStatus: ACTIVE, sessions: [{overallResult: PASS}], after: %[1]d calls}
      - {profileStatus: INACTIVE, sessions: [{overallResult: PASS}], after: %[1]d calls}
      - {profileStatus: INIT, sessions: [{overallResult: FAIL}]}
`, quarter)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startReplicas starts the replicas with --auth mode and gets a token from replica 0.
func startReplicas(t *testing.T, redisURL string, quarter int, mode string) *replicas {
	t.Helper()
	r := &replicas{client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	file := stepperFile(t, quarter)
	prefix := fmt.Sprintf("replicas-%d:", time.Now().UnixNano())
	for range 3 {
		addr, stop := startServe(t, "--store", redisURL, "--store-prefix", prefix, "--scenarios", file, "--auth", mode, "--journal-size", "5000")
		t.Cleanup(stop)
		r.addrs = append(r.addrs, addr)
	}
	var tok struct{ Data struct{ Token string } }
	ts := fmt.Sprint(time.Now().UnixMilli())
	body := fmt.Sprintf(`{"accessKey":%q,"timestamp":"%s","signature":%q}`, idvmock.SampleAccessKey, ts, idvmock.Sign(idvmock.SampleAccessKey, idvmock.SampleSecretKey, ts))
	status, raw := r.do(t, 0, http.MethodPost, idvmock.PathToken, body)
	if err := json.Unmarshal(raw, &tok); err != nil || status != 200 || tok.Data.Token == "" {
		t.Fatalf("token from replica 0: %d %s", status, raw)
	}
	r.token = tok.Data.Token
	return r
}

// do sends a request to replica i with the token; it returns the status and body, or
// status 0 when no answer came.
func (r *replicas) do(t *testing.T, i int, method, target, body string) (int, []byte) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://"+r.addrs[i%len(r.addrs)]+target, rd)
	req.Host = "sg-api.advance.ai"
	req.Header.Set(idvmock.TokenHeader, r.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// latest asks replica i for userID's latest session: the code, the profile status and the
// overall result.
func (r *replicas) latest(t *testing.T, i int, userID string) (status int, answer string) {
	status, raw := r.do(t, i, http.MethodGet, idvmock.PathLatest+"?userId="+userID, "")
	var env struct {
		Code string
		Data struct {
			ProfileStatus string
			Result        struct{ OverallResult *string }
		}
	}
	if json.Unmarshal(raw, &env) != nil {
		return status, "not JSON: " + string(raw)
	}
	verdict := "null"
	if v := env.Data.Result.OverallResult; v != nil {
		verdict = *v
	}
	return status, env.Code + " " + env.Data.ProfileStatus + " " + verdict
}

// 64 goroutines x 1,000 calls round robin over three replicas on one scripted user: each
// state answers exactly its `after: N calls`, whichever replica counted them, and the
// replicas' metrics add up to every request.
func TestReplicasCountEachCallOnce(t *testing.T) {
	const workers = 64
	const calls = 1000
	srv := redistest.Start(t)
	total := workers * calls
	r := startReplicas(t, srv.URL(), total/4, "strict")
	answers := map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[string]int{}
			for i := range calls {
				status, answer := r.latest(t, w+i, "stepper")
				if status != 200 {
					answer = fmt.Sprintf("HTTP %d %s", status, answer)
				}
				seen[answer]++
			}
			mu.Lock()
			defer mu.Unlock()
			for a, n := range seen {
				answers[a] += n
			}
		}()
	}
	wg.Wait()
	want := map[string]int{
		"SUCCESS INIT null": total / 4, "SUCCESS ACTIVE PASS": total / 4, "SUCCESS INACTIVE PASS": total / 4, "SUCCESS INIT FAIL": total / 4,
	}
	if fmt.Sprint(answers) != fmt.Sprint(want) {
		t.Errorf("answers %v, want each state exactly %d times", answers, total/4)
	}
	sum := 0.0
	for i := range r.addrs {
		sum += requestsCounted(t, r, i, idvmock.OpGetLatest)
	}
	if sum != float64(total) {
		t.Errorf("the replicas' metrics count %v Get Latest requests in all, want %d", sum, total)
	}
}

// requestsCounted parses replica i's metrics with the Prometheus text parser and sums
// idvmock_requests_total of operation.
func requestsCounted(t *testing.T, r *replicas, i int, operation string) float64 {
	t.Helper()
	_, raw := r.do(t, i, http.MethodGet, "/__admin/metrics", "")
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("replica %d's metrics do not parse: %v", i, err)
	}
	sum := 0.0
	for _, m := range families["idvmock_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "operation" && l.GetValue() == operation {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// What one replica is told, the others answer: a user PUT on A within 100 ms on B and C, a
// session started on A completed on B and polled on C, a strict-mode token from A on C (every
// request of this test carries the token replica 0 issued).
func TestReplicasShareUsersSessionsAndTokens(t *testing.T) {
	srv := redistest.Start(t)
	r := startReplicas(t, srv.URL(), 1000, "strict")
	start := time.Now()
	if status, raw := r.do(t, 0, http.MethodPut, "/__admin/users/shared_user", `{"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}]}`); status != 200 {
		t.Fatalf("PUT on A: %d %s", status, raw)
	}
	for i := 1; i < 3; i++ {
		for {
			if _, answer := r.latest(t, i, "shared_user"); answer == "SUCCESS ACTIVE PASS" {
				break
			}
			if time.Since(start) > 100*time.Millisecond {
				t.Fatalf("replica %d does not answer the user PUT on A after %v", i, time.Since(start))
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	t.Logf("a user PUT on A was answered by B and C %v later", time.Since(start))

	const sent = 300 // the journal of any replica counts every replica's requests
	for i := range sent {
		r.latest(t, i, "journal_user")
	}
	for i := range r.addrs {
		var n struct{ Count int }
		deadline := time.Now().Add(2 * time.Second)
		for ; time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			_, raw := r.do(t, i, http.MethodGet, "/__admin/requests/count?userId=journal_user", "")
			if json.Unmarshal(raw, &n); n.Count == sent {
				break
			}
		}
		if n.Count != sent {
			t.Errorf("replica %d's journal counts %d requests of journal_user, want the %d sent to all", i, n.Count, sent)
		}
	}

	status, raw := r.do(t, 0, http.MethodPost, idvmock.PathGenerateURL,
		`{"userId":"walker","bizId":"b1","region":"SGP","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`)
	var gen struct{ Data struct{ SignatureID string } }
	if json.Unmarshal(raw, &gen); status != 200 || gen.Data.SignatureID == "" {
		t.Fatalf("Generate URL on A: %d %s", status, raw)
	}
	if status, raw := r.do(t, 1, http.MethodPost, "/__admin/sessions/"+gen.Data.SignatureID+"/complete", `{"overallResult":"PASS"}`); status != 200 {
		t.Fatalf("complete on B: %d %s", status, raw)
	}
	if status, answer := r.latest(t, 2, "walker"); status != 200 || answer != "SUCCESS ACTIVE PASS" {
		t.Errorf("Get Latest on C for the session started on A and completed on B: %d %s", status, answer)
	}
	if status, raw := r.do(t, 2, http.MethodGet, idvmock.PathLatest+"?userId=walker", ""); status != 200 || !bytes.Contains(raw, []byte(`"code":"SUCCESS"`)) {
		t.Errorf("a strict-mode token from A, on C: %d %s", status, raw)
	}
	if status, raw := r.do(t, 1, http.MethodDelete, "/__admin/users/shared_user", ""); status != 200 {
		t.Fatalf("DELETE on B: %d %s", status, raw)
	}
	deadline := time.Now().Add(time.Second)
	for _, answer := r.latest(t, 0, "shared_user"); !strings.HasPrefix(answer, idvmock.CodeParameterError); _, answer = r.latest(t, 0, "shared_user") {
		if time.Now().After(deadline) {
			t.Fatalf("A still answers the user deleted through B: %s", answer)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Redis killed under load: while it is down every answer is a 503 ERROR envelope naming the
// store (never a wrong business answer, never a panic) and health answers 503; once it is
// back the replicas answer again by themselves.
func TestReplicasSurviveRedisGoingAway(t *testing.T) {
	srv := redistest.Start(t)
	r := startReplicas(t, srv.URL(), 1000000, "present") // a restarted Redis without persistence keeps no token
	var down atomic.Bool
	var bad atomic.Value
	var answered503 atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, raw := r.do(t, w+i, http.MethodGet, idvmock.PathLatest+"?userId=user_active", "")
				switch {
				case status == 503 && bytes.Contains(raw, []byte(`"code":"ERROR"`)) && bytes.Contains(raw, []byte(srv.URL()[:len("redis://127.0.0.1:")])):
					answered503.Add(1)
				case status == 200 && bytes.Contains(raw, []byte(`"profileStatus":"ACTIVE"`)):
				case status == 0 && down.Load():
					// a request in flight when Redis went away may time out with its connection
				default:
					bad.Store(fmt.Sprintf("HTTP %d %s", status, raw))
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	down.Store(true)
	srv.Stop()
	time.Sleep(time.Second)
	for i := range r.addrs {
		if status, raw := r.do(t, i, http.MethodGet, "/__admin/health", ""); status != 503 || !bytes.Contains(raw, []byte(`"status":"unavailable"`)) {
			t.Errorf("replica %d's health with Redis down: %d %s", i, status, raw)
		}
	}
	srv.Start()
	recovered := time.Now()
	for i := range r.addrs {
		for {
			if status, _ := r.do(t, i, http.MethodGet, "/__admin/health", ""); status == 200 {
				break
			}
			if time.Since(recovered) > 10*time.Second {
				t.Fatalf("replica %d has not recovered 10 s after Redis came back", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("every replica healthy %v after Redis came back", time.Since(recovered))
	close(stop)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Errorf("an answer that is neither the business answer nor a 503 naming the store: %v", b)
	}
	if answered503.Load() == 0 {
		t.Error("no 503 while Redis was down")
	}
	if _, answer := r.latest(t, 0, "user_active"); answer != "SUCCESS ACTIVE PASS" {
		t.Errorf("after recovery: %s", answer)
	}
}

// A shared store that does not answer at start stops serve with a message naming it and the
// flags to check; the password never shows.
func TestServeRefusesAnUnreachableStore(t *testing.T) {
	err, _, listened := serveOutcome(t, "--store", "redis://:hunter2@127.0.0.1:1/0")
	if err == nil || listened || !strings.Contains(err.Error(), "cannot use the shared store") ||
		!strings.Contains(err.Error(), "redis://127.0.0.1:1/0") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("serve with an unreachable store: %v (listened: %v)", err, listened)
	}
}

// A Redis restarted without persistence starts the admin layer afresh: its version starts
// again, lower than the one the replicas follow. They must still follow it: forget the users
// it lost, and answer the users PUT after.
func TestReplicasFollowTheAdminLayerAcrossARedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	r := startReplicas(t, srv.URL(), 1000, "present")
	body := `{"profileStatus":"ACTIVE","sessions":[{"overallResult":"PASS"}]}`
	for i := range 5 {
		if status, raw := r.do(t, 0, http.MethodPut, fmt.Sprintf("/__admin/users/before_%d", i), body); status != 200 {
			t.Fatalf("PUT on A: %d %s", status, raw)
		}
	}
	srv.Stop()
	srv.Start()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("5 s after Redis restarted: %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("a replica is not healthy", func() bool {
		for i := range r.addrs {
			if status, _ := r.do(t, i, http.MethodGet, "/__admin/health", ""); status != 200 {
				return false
			}
		}
		return true
	})
	waitFor("PUT on B fails", func() bool {
		status, _ := r.do(t, 1, http.MethodPut, "/__admin/users/after", body)
		return status == 200
	})
	for i := range r.addrs {
		waitFor(fmt.Sprintf("replica %d does not answer the user PUT on B", i), func() bool {
			_, answer := r.latest(t, i, "after")
			return answer == "SUCCESS ACTIVE PASS"
		})
		waitFor(fmt.Sprintf("replica %d still answers a user the restarted Redis lost", i), func() bool {
			_, answer := r.latest(t, i, "before_0")
			return strings.HasPrefix(answer, idvmock.CodeParameterError)
		})
	}
}
