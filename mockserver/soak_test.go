package mockserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// The soak test runs only when IDVMOCK_SOAK gives its duration (CI: 60s):
//
//	IDVMOCK_SOAK=60s go test ./mockserver -run Soak -v
//
// Concurrent clients go over every demo user, every region, every scripted fault and the
// token API against a live server with a small journal, and over what grows a shared mock:
// Generate URL for ever new userIds with templates in every field, templated answers for
// ever new userIds, and unmatched 255-character userIds. Every answer must be what its
// request asked for: the vendor's envelope conforming to openapi.yaml, or the fault's
// breakage. The server's memory and goroutines must stay flat between the end of the warm-up
// and the end, with small bounds that the run passes many times.
func TestSoak(t *testing.T) {
	duration, err := time.ParseDuration(os.Getenv("IDVMOCK_SOAK"))
	if err != nil {
		t.Skip("set IDVMOCK_SOAK to a duration (60s) to run the soak test")
	}
	const journalSize = 500
	e := newEngine(t, 0, "qa.yaml", "templates.yaml", "images.yaml")
	e.SetLimits(engine.Limits{MaxStartedSessions: 2000, MaxProgress: 5000})
	s := newTestServer(t, Config{Engine: e, JournalSize: journalSize,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	base := liveServer(t, s)
	sc := newSpecChecker(t)

	type job struct {
		c     call
		fault string         // the X-Fault the request carries: how it may break
		make  func(int) call // a request of its own for each run of the job
	}
	var jobs []job
	users := []string{"user_002", "user_init", "user_active", "user_failed", "user_incomplete", "user_reverify", "user_inactive", "user_multi", "user_error", "nobody", "stepper", "ph_only", "qa-7"}
	hosts := []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"}
	for _, u := range users {
		for _, h := range hosts {
			jobs = append(jobs, job{c: latestCall("userId="+u, h)})
		}
	}
	for _, f := range []string{"latency", "gateway", "reset", "empty", "truncated", "malformed", "service_busy", "token_expired", "server_error", "hang"} {
		c := latestCall("userId=user_active", "sg-api.advance.ai")
		c.header["X-Fault"] = f
		jobs = append(jobs, job{c: c, fault: f})
	}
	jobs = append(jobs,
		job{c: tokenCall(`{"accessKey":"sampleaccesskey","timestamp":"1","signature":"x"}`)},
		job{c: latestCall("userId=user_multi&solutionCode=999", "")},
		job{c: call{target: idvmock.PathLatest + "?userId=a"}}, // no token
		job{make: func(i int) call {
			hostile := []string{`{{`, `{{range 1000000}}x{{end}}`, `{{ .userId }}`}[i%3]
			body, _ := json.Marshal(map[string]string{"userId": fmt.Sprintf("gen-%d", i), "bizId": hostile, "region": "PHL",
				"returnUrl": "https://app.example/ok", "failReturnUrl": "https://app.example/ko", "note": hostile})
			return generateCall(string(body))
		}},
		job{make: func(i int) call { return latestCall(fmt.Sprintf("userId=gen-%d", i-1), "ph-api.advance.ai") }},
		job{make: func(i int) call { return latestCall(fmt.Sprintf("userId=tpl-%d", i), "sg-api.advance.ai") }},
		job{make: func(i int) call { return latestCall(fmt.Sprintf("userId=%0255d", i), "") }},
		// The customer-profile family and Get Result's images, for ever new userIds and
		// signatureIds too: deactivations and the image cache must stay bounded.
		job{make: func(i int) call {
			path := []string{idvmock.PathGetProfile, idvmock.PathGetProfileCamel}[i%2]
			return profileCall(path, users[i%len(users)], hosts[i%len(hosts)])
		}},
		job{make: func(i int) call { return statusCall(users[i%len(users)], "INACTIVE", hosts[i%len(hosts)]) }},
		job{make: func(i int) call { return statusCall(fmt.Sprintf("gen-%d", i-7), "INACTIVE", "ph-api.advance.ai") }},
		job{make: func(i int) call {
			sig := []string{"1a2b3c4d5e6f", "3c4d5e6f7081", "4d5e6f708192", fmt.Sprintf("%012x", i)}[i%4]
			kind := []string{"URL", "BASE64"}[i/4%2]
			return getResultCall(hosts[i%len(hosts)], `{"signatureId":"`+sig+`","returnImageType":"`+kind+`"}`)
		}},
	)

	var (
		sent, broken atomic.Int64
		mu           sync.Mutex
		failures     []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	hangClient := &http.Client{Timeout: 100 * time.Millisecond}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				j := jobs[i%len(jobs)]
				if j.make != nil {
					j.c = j.make(i)
				}
				req := j.c.request()
				req.URL.Scheme, req.URL.Host = "http", strings.TrimPrefix(base, "http://")
				req.RequestURI = ""
				cl := client
				if j.fault == "hang" {
					cl = hangClient
				}
				sent.Add(1)
				resp, err := cl.Do(req)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				switch j.fault {
				case "hang", "reset", "empty", "truncated":
					if err == nil && j.fault != "truncated" {
						fail("%s: an answer came: HTTP %d", j.fault, resp.StatusCode)
					}
					if err == nil && j.fault == "truncated" && json.Valid(body) {
						fail("truncated: a whole body came")
					}
					broken.Add(1)
					continue
				case "gateway", "malformed":
					switch {
					case err != nil:
						fail("%s: %v", j.fault, err)
					case j.fault == "gateway" && resp.StatusCode != http.StatusServiceUnavailable:
						fail("gateway: HTTP %d, want qa.yaml's 503", resp.StatusCode)
					case j.fault == "malformed" && json.Valid(body):
						fail("malformed: the body is valid JSON")
					}
					broken.Add(1)
					continue
				}
				if err != nil {
					fail("%s %s (Host %s): %v", j.c.method, j.c.target, j.c.host, err)
					continue
				}
				rec := httptest.NewRecorder()
				rec.Code = resp.StatusCode
				for k, v := range resp.Header {
					rec.Header()[k] = v
				}
				rec.Body = bytes.NewBuffer(body)
				if err := sc.conform(j.c, rec); err != nil {
					fail("%s %s (Host %s): %v", j.c.method, j.c.target, j.c.host, err)
				}
			}
		}()
	}

	warmup := min(duration/6, 10*time.Second)
	time.Sleep(warmup)
	runtime.GC()
	rssStart, goStart := rssBytes(t), runtime.NumGoroutine()
	time.Sleep(duration - warmup)
	runtime.GC()
	rssEnd, goEnd := rssBytes(t), runtime.NumGoroutine()
	close(stop)
	wg.Wait()

	t.Logf("%d requests in %v (%d with a fault that breaks the answer); RSS %.1f MB -> %.1f MB; goroutines %d -> %d",
		sent.Load(), duration, broken.Load(), float64(rssStart)/(1<<20), float64(rssEnd)/(1<<20), goStart, goEnd)
	for _, f := range failures {
		t.Error(f)
	}
	if n := len(s.journal.find(filter{}, 0)); n > journalSize {
		t.Errorf("the journal holds %d entries, more than its %d", n, journalSize)
	}
	if rssEnd > rssStart+24<<20 {
		t.Errorf("RSS grew from %.1f MB to %.1f MB under steady load", float64(rssStart)/(1<<20), float64(rssEnd)/(1<<20))
	}
	if goEnd > goStart+32 {
		t.Errorf("goroutines grew from %d to %d under steady load", goStart, goEnd)
	}
}

// rssBytes is this process's resident memory, from /proc.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc: RSS cannot be read here")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal(errors.New("no VmRSS in /proc/self/status"))
	return 0
}
