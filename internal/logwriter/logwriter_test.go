package logwriter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an io.Writer tests can read while it is written.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Every line of every writer is written once, whole, and each writer's lines in its order;
// Close returns only when all of them are out.
func TestEveryLineOnceInOrder(t *testing.T) {
	var out lockedBuffer
	w := New(&out)
	const writers, lines = 8, 2000
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines written, want %d", len(got), writers*lines)
	}
	for _, line := range got {
		var g, i int
		if _, err := fmt.Sscanf(line, "g%d line %d", &g, &i); err != nil {
			t.Fatalf("a line was torn: %q", line)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came where line %d was due", g, i, next[g])
		}
		next[g]++
	}
	if out.writes >= writers*lines {
		t.Errorf("%d writes for %d lines: nothing was batched", out.writes, writers*lines)
	}
}

// gate is a writer that blocks until it is opened.
type gate struct {
	lockedBuffer
	open chan struct{}
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	return g.lockedBuffer.Write(p)
}

// A writer whose output is stuck holds at most MaxBacklog bytes (plus the batch being
// written); the next Write waits instead of growing the backlog, and goes on once the output
// moves.
func TestBacklogIsBounded(t *testing.T) {
	out := &gate{open: make(chan struct{})}
	w := New(out)
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	fmt.Fprint(w, "first\n") // taken by the goroutine, which then blocks in out.Write
	for range 100 {          // until the goroutine has taken the first line
		w.mu.Lock()
		empty := len(w.backlog) == 0
		w.mu.Unlock()
		if empty {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for range MaxBacklog / len(line) {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan struct{})
	go func() {
		_, _ = w.Write(line) // past the bound
		close(blocked)
	}()
	select {
	case <-blocked:
		t.Fatal("a Write past the bound did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	w.mu.Lock()
	if len(w.backlog) > MaxBacklog {
		t.Errorf("backlog %d bytes, bound %d", len(w.backlog), MaxBacklog)
	}
	w.mu.Unlock()
	close(out.open)
	<-blocked
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if want := len("first\n") + (MaxBacklog/len(line)+1)*len(line); out.b.Len() != want {
		t.Errorf("%d bytes written, want %d", out.b.Len(), want)
	}
}

type failing struct{}

func (failing) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

// An error of the underlying writer reaches a later Write or Close.
func TestErrorIsReported(t *testing.T) {
	w := New(failing{})
	_, _ = w.Write([]byte("a\n"))
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close: %v, want the writer's error", err)
	}
}

// After Close, writes go straight through, after everything written before; Close twice is
// fine.
func TestWriteAfterClose(t *testing.T) {
	var out lockedBuffer
	w := New(&out)
	fmt.Fprint(w, "before\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "after\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "before\nafter\n" {
		t.Fatalf("got %q", got)
	}
}

// Flush returns only once every line written before it is out, however slow the output.
func TestFlushWaitsForEveryLine(t *testing.T) {
	out := &gate{open: make(chan struct{})}
	w := New(out)
	defer w.Close()
	for i := range 50 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(out.open)
	}()
	w.Flush()
	if got := strings.Count(out.String(), "\n"); got != 50 {
		t.Fatalf("after Flush, %d of 50 lines are out", got)
	}
	w.Flush() // nothing waiting: returns at once
}
