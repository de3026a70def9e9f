package browsertest

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestExecPathFollowsTheEnvironment(t *testing.T) {
	t.Setenv("IDVMOCK_CHROMIUM", "/nonexistent/chromium")
	if _, err := ExecPath(); err == nil || !strings.Contains(err.Error(), "IDVMOCK_CHROMIUM") {
		t.Errorf("a missing $IDVMOCK_CHROMIUM: %v; want an error naming the variable", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("IDVMOCK_CHROMIUM", self)
	if got, err := ExecPath(); err != nil || got != self {
		t.Errorf("ExecPath() = %q, %v; want %q", got, err, self)
	}
}

// recorder is a test whose errors and cleanups are kept, to check what the harness reports.
type recorder struct {
	*testing.T
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

func (r *recorder) finish() []string {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors
}

// An uncaught exception, a Content-Security-Policy violation and a dialog in the page each
// fail the test: the dashboard's tests rely on it to catch script that should never run.
func TestPageProblemsFailTheTest(t *testing.T) {
	for _, tc := range []struct{ name, page, want string }{
		{"exception", `<script>throw new Error("boom from the page")</script>`, "boom from the page"},
		{"csp", `<meta http-equiv="Content-Security-Policy" content="script-src 'none'"><script>document.title = "ran"</script>`, "Content Security Policy"},
		{"dialog", `<script>alert("xss from the page")</script>`, "xss from the page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{T: t}
			b := Start(r)
			b.Do("loading the page", chromedp.Navigate("data:text/html,"+url.PathEscape(tc.page)))
			deadline := time.Now().Add(10 * time.Second)
			for {
				b.mu.Lock()
				n := len(b.problems)
				b.mu.Unlock()
				if n > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			errors := r.finish()
			if len(errors) == 0 || !strings.Contains(strings.Join(errors, "\n"), tc.want) {
				t.Errorf("the test's errors: %q; want one with %q", errors, tc.want)
			}
		})
	}
}
