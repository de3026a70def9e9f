// Package browsertest runs a real, headless Chromium inside go test, for the dashboard's
// browser tests: it finds Debian's chromium, starts it on a fresh profile with one tab,
// bounds the test's browser work with a deadline, reports the page's uncaught exceptions,
// Content-Security-Policy violations and dialogs as test errors, and writes screenshots.
//
// Without chromium the tests that use it are skipped with a message saying so, except when
// the environment variable CI is set: there they fail, so that CI never passes without them.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Window is the size of the browser window, and of the viewport of the tab.
const (
	WindowWidth  = 1280
	WindowHeight = 800
)

// DefaultTimeout bounds everything a test does with its browser; the test's own deadline
// (go test -timeout) bounds it too when it is sooner.
const DefaultTimeout = 60 * time.Second

// ExecPath finds the browser: $IDVMOCK_CHROMIUM when set, else chromium or chromium-browser
// on the PATH (Debian's package installs /usr/bin/chromium).
func ExecPath() (string, error) {
	if p := os.Getenv("IDVMOCK_CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("IDVMOCK_CHROMIUM=%s: %w", p, err)
		}
		return found, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("neither chromium nor chromium-browser is on the PATH, and IDVMOCK_CHROMIUM is not set")
}

// Browser is one headless Chromium with one tab, owned by one test.
type Browser struct {
	t   testing.TB
	ctx context.Context // the tab

	mu       sync.Mutex
	problems []string // exceptions, CSP violations and dialogs: each fails the test
	console  []string // every console message, logged when the test fails
}

// Option changes how Start starts the browser.
type Option func(*options)

type options struct{ timeout time.Duration }

// WithTimeout bounds the browser work of the test by d instead of DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// Start starts the browser for t, skips t when there is no browser (fails it when CI is
// set), and stops the browser when t ends.
func Start(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	o := options{timeout: DefaultTimeout}
	for _, f := range opts {
		f(&o)
	}
	path, err := ExecPath()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the browser tests need Chromium and CI is set, so they may not be skipped: %v (apt-get install chromium)", err)
		}
		t.Skipf("skipped: the browser tests need Chromium (apt-get install chromium, or IDVMOCK_CHROMIUM=/path/to/chromium): %v", err)
	}
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last first)

	deadline := time.Now().Add(o.timeout)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if testDeadline, ok := d.Deadline(); ok && testDeadline.Add(-5*time.Second).Before(deadline) {
			deadline = testDeadline.Add(-5 * time.Second)
		}
	}
	bounded, cancelTimeout := context.WithDeadline(context.Background(), deadline)
	allocOpts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.WindowSize(WindowWidth, WindowHeight),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(bounded, allocOpts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}

	var watchers sync.WaitGroup
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancelTimeout()
		watchers.Wait()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("the page: %s", p)
		}
		if t.Failed() && len(b.console) > 0 {
			t.Logf("the page's console:\n%s", strings.Join(b.console, "\n"))
		}
	})

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(WindowWidth, WindowHeight)); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	watchers.Go(func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.note(m)
		}
	})
	watchers.Go(func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.addProblem(fmt.Sprintf("a %s dialog opened: %q", ev.Type, ev.Message))
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	})
	return b
}

var cspViolation = regexp.MustCompile(`(?i)content security policy`)

func (b *Browser) note(m chromedp.ConsoleMessage) {
	line := fmt.Sprintf("[%s] %s", m.Type, m)
	if m.URL != "" {
		line += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
	}
	b.mu.Lock()
	b.console = append(b.console, line)
	b.mu.Unlock()
	if m.IsException() || cspViolation.MatchString(m.Text) {
		b.addProblem(line)
	}
}

func (b *Browser) addProblem(p string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, p)
}

// Context is the tab's chromedp context, for chromedp.Do and chromedp.Run; it ends at the
// test's deadline.
func (b *Browser) Context() context.Context { return b.ctx }

// Do runs actions in the tab and fails the test on the first error, saying what was being
// done.
func (b *Browser) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// Run runs one action in the tab and returns its value; an error fails the test.
func Run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Eval evaluates a JavaScript expression in the page and returns its value.
func Eval[T any](b *Browser, expression string) T {
	b.t.Helper()
	return Run(b, "evaluating "+expression, chromedp.Evaluate[T](expression))
}

// WaitFor waits until the JavaScript expression is truthy, at most within; it fails the test
// with what it waited for otherwise.
func (b *Browser) WaitFor(what, expression string, within time.Duration) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool]("!!("+expression+")", chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		b.t.Fatalf("waited %s for %s: %v", within, what, err)
	}
}

// Emulate sets the viewport's size and the color scheme the page sees (prefers-color-scheme).
func (b *Browser) Emulate(width, height int64, dark bool) {
	b.t.Helper()
	scheme := "light"
	if dark {
		scheme = "dark"
	}
	b.Do(fmt.Sprintf("emulating %dx%d, %s", width, height, scheme),
		chromedp.EmulateViewport(width, height),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return err
		}))
}

// Screenshot writes a PNG of the whole page to the screenshot folder and logs its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png := Run(b, "taking the screenshot "+name, chromedp.FullScreenshot(100))
	file := filepath.Join(ScreenshotDir(b.t), safeName(b.t.Name()+"-"+name)+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", file)
	return file
}

// ViewportPNG is a PNG of the viewport only, as it is on the screen.
func (b *Browser) ViewportPNG() []byte {
	b.t.Helper()
	return Run(b, "taking a screenshot", chromedp.CaptureScreenshot())
}

var (
	shotsOnce sync.Once
	shotsDir  string
	shotsErr  error
)

// ScreenshotDir is where screenshots go: $IDVMOCK_SCREENSHOTS when set, else the folder
// idvmock-screenshots of the system's temporary directory. It is kept after the test run, so
// that the paths the log names can be opened, and each run writes the same names again, so
// that it does not grow.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	shotsOnce.Do(func() {
		shotsDir = os.Getenv("IDVMOCK_SCREENSHOTS")
		if shotsDir == "" {
			shotsDir = filepath.Join(os.TempDir(), "idvmock-screenshots")
		}
		shotsErr = os.MkdirAll(shotsDir, 0o755)
	})
	if shotsErr != nil {
		t.Fatalf("screenshot folder: %v", shotsErr)
	}
	return shotsDir
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "_") }
