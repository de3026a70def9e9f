package mockserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/scenarios/files"
)

// Every Server of a process shares what it derives from openapi.yaml (the document, its
// router, its body limits, its regions), and none changes it: after servers were built and
// answered, side by side, the shared document is still the one openapi.yaml gives, servers
// included, and a request for a vendor host and one for the mock's own (whose operation
// declares servers of its own) are still routed, whatever their host.
func TestServersShareTheSpecAndLeaveItAlone(t *testing.T) {
	servers := []*Server{newTestServer(t, Config{}), newTestServer(t, Config{})}
	if servers[0].router != servers[1].router {
		t.Error("two servers built two routers")
	}
	var wg sync.WaitGroup
	for _, s := range servers {
		for _, host := range []string{"api.advance.ai", "sg-api.advance.ai", "localhost:8080", "mock.internal"} {
			wg.Go(func() {
				if rec := serveRequest(s, latestCall("userId=user_active", host)); rec.Code != http.StatusOK {
					t.Errorf("latest on %s: HTTP %d %s", host, rec.Code, rec.Body)
				}
				if rec := serveRequest(s, call{target: "/__admin/health", host: host}); rec.Code != http.StatusOK {
					t.Errorf("health on %s: HTTP %d %s", host, rec.Code, rec.Body)
				}
			})
		}
	}
	wg.Wait()

	shared, err := idvmock.Spec()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := idvmock.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if len(shared.Servers) != 6 || shared.Paths.Find("/__admin/health").Get.Servers == nil {
		t.Errorf("the shared document lost its servers: %d at the top", len(shared.Servers))
	}
	got, err := json.Marshal(shared)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("the shared document is no longer the one openapi.yaml gives")
	}
}

// serveRequest runs c through s (serve, without a *testing.T: from other goroutines).
func serveRequest(s *Server, c call) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, c.request())
	return rec
}

// BenchmarkNewServer is New after the first of the process (idvmocktest starts one per
// test): what each server still builds of its own.
func BenchmarkNewServer(b *testing.B) {
	cfg := Config{Engine: newEngine(b, 0), ParseUser: files.ParseUser, AccessKey: testAccessKey, SecretKey: testSecretKey}
	first, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	first.Close()
	for b.Loop() {
		s, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
