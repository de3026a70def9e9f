// Package logwriter hands log lines to a goroutine that writes them, so that a request does
// not pay a write system call for its log line: under load the lines of many requests go out
// in one write. Nothing is dropped: a writer whose backlog reaches its bound makes the next
// Write wait for the backlog to go out, and Close writes what is left before it returns.
package logwriter

import (
	"io"
	"sync"
	"time"
)

// MaxBacklog bounds the bytes waiting to be written. A Write that would pass it waits until
// the goroutine has taken the backlog.
const MaxBacklog = 256 << 10

// Gap is the least time between two writes of the goroutine: lines that come sooner wait
// for the rest of it and go out together. A line that comes after a quiet spell is written
// at once.
const Gap = 2 * time.Millisecond

// Writer is an io.Writer whose writes are done by a goroutine of its own. It is safe for
// concurrent use, and keeps the order of the writes it is given.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	drained *sync.Cond // signalled when the goroutine has taken the backlog
	backlog []byte     // written to out by the goroutine, in order
	spare   []byte     // the previous batch's buffer, for reuse
	closed  bool
	err     error  // the last error out returned, reported by the next Write
	queued  uint64 // bytes given to Write so far
	written uint64 // bytes the goroutine has handed to out so far

	wake chan struct{} // a Write tells the goroutine there is a backlog
	done chan struct{} // closed by Close
	exit chan struct{} // closed by the goroutine when it has written everything
}

// New starts a Writer that writes to out.
func New(out io.Writer) *Writer {
	w := &Writer{out: out, wake: make(chan struct{}, 1), done: make(chan struct{}), exit: make(chan struct{})}
	w.drained = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Write queues p, a copy of it: the caller may reuse p at once. It reports the error of an
// earlier write to the underlying writer, if one failed. After Close, it writes p directly.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.backlog) > 0 && len(w.backlog)+len(p) > MaxBacklog {
		w.drained.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		return w.writeThrough(p)
	}
	w.backlog = append(w.backlog, p...)
	w.queued += uint64(len(p))
	err := w.err
	w.err = nil
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // the goroutine is already told
	}
	return len(p), err
}

// writeThrough writes p once the goroutine has written everything before it.
func (w *Writer) writeThrough(p []byte) (int, error) {
	<-w.exit
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

func (w *Writer) run() {
	defer close(w.exit)
	var last time.Time
	for {
		select {
		case <-w.wake:
			if wait := Gap - time.Since(last); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-w.done:
					t.Stop()
				}
			}
			w.flush()
			last = time.Now()
		case <-w.done:
			w.flush()
			return
		}
	}
}

// flush writes the backlog; only the goroutine calls it.
func (w *Writer) flush() {
	w.mu.Lock()
	batch := w.backlog
	w.backlog, w.spare = w.spare[:0], nil
	w.drained.Broadcast()
	w.mu.Unlock()
	var err error
	if len(batch) > 0 {
		_, err = w.out.Write(batch)
	}
	w.mu.Lock()
	w.written += uint64(len(batch))
	w.drained.Broadcast()
	if err != nil {
		w.err = err
	}
	if cap(batch) <= MaxBacklog*2 { // a line longer than the bound leaves a big buffer: drop it
		w.spare = batch[:0]
	}
	w.mu.Unlock()
}

// Flush returns once everything written before it has been handed to the underlying
// writer: serve calls it before it says it is listening, so that the lines of its start
// (the admin token it generated) are out before the first request is answered.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	target := w.queued
	select {
	case w.wake <- struct{}{}:
	default:
	}
	for !w.closed && w.written < target {
		w.drained.Wait()
	}
}

// Close writes what is waiting and stops the goroutine; later writes go straight to the
// underlying writer. It does not close that writer. It is safe to call more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.exit
		return nil
	}
	w.closed = true
	w.drained.Broadcast()
	w.mu.Unlock()
	close(w.done)
	<-w.exit
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
