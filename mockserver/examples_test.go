package mockserver

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// requestExtension on an example of openapi.yaml names the request whose answer the example
// shows; the mock must answer exactly that, apart from transactionId.
const requestExtension = "x-idvmock-request"

func TestSpecExamplesAreWhatTheMockAnswers(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	checked := 0
	for path, item := range sc.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, resp := range op.Responses.Map() {
				for _, media := range resp.Value.Content {
					for name, ex := range media.Examples {
						raw, ok := ex.Value.Extensions[requestExtension]
						if !ok {
							continue
						}
						var req struct {
							Host, Query string
							Scenario    string
						}
						if b, err := json.Marshal(raw); err != nil || json.Unmarshal(b, &req) != nil {
							t.Fatalf("%s %s %s example %s: bad %s %v", method, path, status, name, requestExtension, raw)
						}
						c := latestCall(req.Query, req.Host)
						c.target = path + "?" + req.Query
						if req.Scenario != "" {
							c.header[engine.ScenarioHeader] = req.Scenario
						}
						checked++
						var want map[string]any
						b, _ := json.Marshal(ex.Value.Value)
						_ = json.Unmarshal(b, &want)
						rec := serve(t, s, c)
						var got map[string]any
						if err := json.Unmarshal(withTransactionID(rec.Body.Bytes(), want["transactionId"].(string)), &got); err != nil {
							t.Fatal(err)
						}
						if !reflect.DeepEqual(got, want) {
							t.Errorf("example %s of %s %s differs from the mock's answer; the answer is:\n%s", name, method, path, rec.Body)
						}
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d examples name the request they show", checked)
	}
}

// openapi.yaml shows every named scenario's answer as an example of the same name.
func TestSpecHasAnExampleForEveryScenario(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	examples := sc.doc.Paths.Value(idvmock.PathLatest).Get.Responses.Status(200).Value.Content.Get("application/json").Examples
	for _, name := range s.cfg.Engine.Set().ScenarioNames() {
		if examples[name] == nil {
			t.Errorf("openapi.yaml has no example %q for the scenario of that name", name)
		}
	}
}

// Every operation of openapi.yaml has a handler: a request to it is never answered 404 or
// 405 by the router.
func TestEveryOperationIsServed(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	for path, item := range sc.doc.Paths.Map() {
		for method := range item.Operations() {
			// The live journal streams until its client leaves: this one leaves soon.
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, call{method: method, target: path, header: map[string]string{idvmock.TokenHeader: "t"}}.request().WithContext(ctx))
			cancel()
			routed := !strings.Contains(rec.Body.String(), "HTTP 404 - Not Found") && !strings.Contains(rec.Body.String(), "HTTP 405 - Method Not Allowed")
			if !routed {
				t.Errorf("%s %s: HTTP %d %s: no handler for this operation", method, path, rec.Code, rec.Body)
			}
		}
	}
}

// The vendor's request bodies of testdata/vendor/requests pass the mock's validation: the
// token request earns a token on the test vector's clock, and Get Result's request gets the
// answer for a signatureId no session has, as any well-formed request for one does.
func TestVendorRequestBodiesAreAccepted(t *testing.T) {
	clock := &fixedClock{now: vectorTime}
	s := newTestServer(t, Config{Engine: engineAt(t, clock.Now)})
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "vendor", "requests", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	if a := requestToken(t, s, tokenCall(read("token_test_vector.json"))); a.Code != "SUCCESS" || a.Token == "" {
		t.Errorf("token_test_vector.json: %s %q", a.Code, a.Message)
	}
	sc := newSpecChecker(t)
	vendor, unknown := signatureCall(""), signatureCall("nope")
	vendor.body = read("get_result.json")
	got, want := serve(t, s, vendor), serve(t, s, unknown)
	sc.check(t, vendor, got)
	if g, w := decode(t, got), decode(t, want); got.Code != want.Code || g.Code != w.Code || g.Message != w.Message {
		t.Errorf("get_result.json: HTTP %d %s %q; a request for an unknown signatureId gets HTTP %d %s %q",
			got.Code, g.Code, g.Message, want.Code, w.Code, w.Message)
	}
}
