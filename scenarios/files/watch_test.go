package files

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idvmock/idvmock/engine"
)

// OnReload is told of each reload tried, once: nil for a change applied, the problems for one
// refused, which is not tried (nor told) again until the files change.
func TestWatcherTellsEachReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "qa.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("users:\n  watched: {scenario: init}\n")
	builtin, _ := Builtin()
	declared, err := ReadPaths([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewEngine(0, append(builtin, declared...), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWatcher([]string{dir}, builtin, e, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var mu sync.Mutex
	var told []error
	w.OnReload(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, err)
	})
	results := func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), told...)
	}
	waitTold := func(n int) []error {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if got := results(); len(got) >= n {
				return got
			}
		}
		t.Fatalf("told %v after 5 s, want %d reloads", results(), n)
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx, WatchOptions{Interval: 10 * time.Millisecond, Settle: 50 * time.Millisecond})

	write("users:\n  watched: {scenario: active}\n")
	if got := waitTold(1); got[0] != nil {
		t.Fatalf("a valid change was told %v", got[0])
	}
	write("users:\n  watched: {scenario: activ}\n")
	if got := waitTold(2); got[1] == nil || !strings.Contains(got[1].Error(), "activ") {
		t.Fatalf("a broken change was told %v, want its problems", got[1])
	}
	time.Sleep(200 * time.Millisecond) // many polls: the refused files are not tried again
	if got := results(); len(got) != 2 {
		t.Errorf("told %v: the refused change was tried again", got)
	}
	write("users:\n  watched: {scenario: inactive}\n")
	if got := waitTold(3); got[2] != nil || len(got) != 3 {
		t.Errorf("the fix was told %v", got)
	}
}
