package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// largeLatestAnswer is a Get Latest Session Result SUCCESS answer for userID of exactly size
// bytes: the mock's answer for user_active, changed by change (nil: unchanged), with an
// undeclared array of noise small numbers, and a base64-like faceImage that fills it up.
func largeLatestAnswer(t *testing.T, userID string, size int, change func(result map[string]any), noise int) []byte {
	t.Helper()
	env := mockEnvelope(t, userID)
	result := resultOfEnvelope(env)
	result["faceDetail"].(map[string]any)["faceImage"] = "IMAGE"
	if noise > 0 {
		result["noise"] = "NOISE"
	}
	if change != nil {
		change(result)
	}
	small, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	var values []byte
	if noise > 0 {
		values = append(values, '[')
		for i := range noise {
			values = append(values, byte('0'+i%10), ',')
		}
		values[len(values)-1] = ']'
		small = bytes.Replace(small, []byte(`"NOISE"`), values, 1)
	}
	fill := size - (len(small) - len("IMAGE"))
	if fill <= 0 {
		t.Fatalf("size %d is smaller than the answer without its image (%d bytes)", size, len(small))
	}
	body := bytes.Replace(small, []byte(`"IMAGE"`), append(append([]byte{'"'}, base64Like(fill)...), '"'), 1)
	if len(body) != size {
		t.Fatalf("built %d bytes, want %d", len(body), size)
	}
	return body
}

var base64Text = sync.OnceValue(func() []byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	rng := rand.New(rand.NewPCG(1, 2))
	text := make([]byte, 2*maxProxiedBody)
	for i := 0; i < len(text); i += 10 {
		for bits, j := rng.Uint64(), i; j < min(i+10, len(text)); j, bits = j+1, bits>>6 {
			text[j] = alphabet[bits&63]
		}
	}
	return text
})

// base64Like is n characters of base64 with seeded random content, as an image would be.
func base64Like(n int) []byte { return base64Text()[:n] }

// bodyServer answers every request with body; chunked: without Content-Length.
func bodyServer(body []byte, chunked bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		for rest := body; len(rest) > 0; {
			n := min(len(rest), 1<<20)
			_, _ = w.Write(rest[:n])
			if chunked {
				w.(http.Flusher).Flush()
			}
			rest = rest[n:]
		}
	}))
}

// heapGrowth runs f and returns the bytes allocated while it ran (TotalAlloc, an upper bound
// of the heap's growth that does not depend on when the GC runs) and the peak of HeapAlloc
// above the live heap before f, sampled by a goroutine.
func heapGrowth(f func()) (allocated, peak uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var max uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > max {
				max = m.HeapAlloc
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if max > before.HeapAlloc {
		peak = max - before.HeapAlloc
	}
	return after.TotalAlloc - before.TotalAlloc, peak
}

// One answer at the body cap, checked and recorded by the proxy, makes the heap grow by less
// than 3 times the cap (measured: about 2.1): the body once, its decoded form once, and little
// else, whether the upstream says its length or not, and when the answer breaks the contract
// or is no JSON at all (messages show the beginning of a value, not the whole of it). An
// answer of many small values, which costs many times its size decoded, is checked up to
// 10,000 values, recorded up to 2,000, and passed on unchecked past that.
func TestProxyMemoryForAnAnswerAtTheCap(t *testing.T) {
	for _, tc := range []struct {
		name       string
		chunked    bool
		change     func(map[string]any)
		noise      int
		truncate   bool
		violations string
		unchecked  string
		unrecorded bool
		log        string
	}{
		{name: "Content-Length"},
		{name: "chunked", chunked: true},
		{name: "breaks the contract", chunked: true, change: func(r map[string]any) { delete(r, "countryCodeIso3") },
			violations: RuleSchema + ", " + RuleCountryCode, unrecorded: true},
		{name: "not JSON", truncate: true, violations: RuleJSON, unrecorded: true},
		{name: "1,900 small values", noise: 1900},
		{name: "9,800 small values", noise: 9800, unrecorded: true, log: "the result has over 2000 JSON values"},
		{name: "8 million small values", noise: 8_000_000, unrecorded: true,
			unchecked: "the answer has over 10000 JSON values; it was not checked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := largeLatestAnswer(t, "user_large", maxProxiedBody, tc.change, tc.noise)
			if tc.truncate {
				body[len(body)-1] = ' '
			}
			upstream := bodyServer(body, tc.chunked)
			defer upstream.Close()
			proxy, _, _, logs := recordingProxy(t, upstream.URL)

			var p passed
			allocated, peak := heapGrowth(func() { p = passThrough(t, proxy.URL, "user_large") })
			if p.sum != sha256.Sum256(body) {
				t.Fatal("the answer did not pass through unchanged")
			}
			if p.violations != tc.violations || p.unchecked != tc.unchecked {
				t.Errorf("violations %q, want %q; unchecked %q, want %q\n%s", p.violations, tc.violations, p.unchecked, tc.unchecked, logs.String())
			}
			if recorded := strings.Contains(logs.String(), `msg=recorded`); recorded == tc.unrecorded || !strings.Contains(logs.String(), tc.log) {
				t.Errorf("recorded: %v, want %v; want a log of %q\n%s", recorded, !tc.unrecorded, tc.log, logs.String())
			}
			ratio := func(n uint64) float64 { return float64(n) / maxProxiedBody }
			t.Logf("answer of %d bytes: allocated %.2fx the cap, heap peak %.2fx the cap", len(body), ratio(allocated), ratio(peak))
			if allocated > 3*maxProxiedBody {
				t.Errorf("proxying one answer at the cap allocated %d bytes, %.2fx the cap: want under 3x", allocated, ratio(allocated))
			}
		})
	}
}

// An answer over the cap passes through unchanged and unchecked, marked X-Contract-Unchecked
// and logged, and it is not recorded; with a Content-Length, it is not even read.
func TestProxyPassesAnAnswerOverTheCapUnchecked(t *testing.T) {
	body := largeLatestAnswer(t, "user_huge", maxProxiedBody+1, nil, 0)
	for _, chunked := range []bool{false, true} {
		upstream := bodyServer(body, chunked)
		defer upstream.Close()
		proxy, _, dir, logs := recordingProxy(t, upstream.URL)
		var p passed
		allocated, _ := heapGrowth(func() { p = passThrough(t, proxy.URL, "user_huge") })
		if p.sum != sha256.Sum256(body) {
			t.Errorf("chunked %v: the answer did not pass through unchanged", chunked)
		}
		if want := "the answer is over 16777216 bytes; it was not checked"; p.unchecked != want || p.violations != "" {
			t.Errorf("chunked %v: %s %q, want %q; violations %q", chunked, UncheckedHeader, p.unchecked, want, p.violations)
		}
		if !strings.Contains(logs.String(), "answer too large to check") {
			t.Errorf("chunked %v: not logged:\n%s", chunked, logs.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("chunked %v: an unchecked answer was recorded", chunked)
		}
		if !chunked && allocated > maxProxiedBody/4 {
			t.Errorf("an answer with a Content-Length over the cap was read: %d bytes allocated", allocated)
		}
	}
}

// passed is what a client got through the proxy.
type passed struct {
	sum                   [32]byte
	violations, unchecked string
}

func passThrough(t *testing.T, base, userID string) passed {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+PathLatest+"?userId="+userID, nil)
	req.Header.Set("X-ACCESS-TOKEN", "test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	p := passed{violations: resp.Header.Get(ViolationsHeader), unchecked: resp.Header.Get(UncheckedHeader)}
	copy(p.sum[:], h.Sum(nil))
	return p
}
