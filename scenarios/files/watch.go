package files

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// WatchOptions say how a Watcher looks for changes.
type WatchOptions struct {
	// Interval is how often the files are polled: the only way changes are seen when the file
	// system gives no notifications (some network and container mounts), and a safety net
	// otherwise. Default 1 s.
	Interval time.Duration
	// Settle is how long the files must stay unchanged before a change is applied, so that a
	// file is never read half-written. Default 300 ms.
	Settle time.Duration
}

// setDefaults fills in the defaults of the options left at zero.
func (o *WatchOptions) setDefaults() {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 300 * time.Millisecond
	}
}

// Watcher reloads scenario files into an engine when they change. A change is applied once
// the files have stayed the same for a settle delay, so that a file being written is never
// read half-way; a change with problems is refused: the engine keeps the previous set, and
// Status and the log say why.
type Watcher struct {
	paths   []string
	builtin []*scenarios.File
	engine  *engine.Engine
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	status   engine.ReloadStatus
	applied  string      // digest of the files the engine holds
	refused  string      // digest of the files last refused: not compiled again until they change
	onReload func(error) // told of each reload tried, see OnReload
}

// OnReload has f told of each reload the watcher tries: nil when the change was applied, the
// problems when it was refused. A change refused once is not tried again until the files
// change. f is called outside the watcher's lock; it must not block.
func (w *Watcher) OnReload(f func(error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.onReload = f
}

// NewWatcher watches paths for engine, whose files are builtin plus those at paths.
func NewWatcher(paths []string, builtin []*scenarios.File, e *engine.Engine, log *slog.Logger) *Watcher {
	w := &Watcher{paths: paths, builtin: builtin, engine: e, log: log, now: time.Now}
	w.applied, _ = digest(paths)
	names, _ := expandPaths(paths)
	w.status = engine.ReloadStatus{Files: names, LoadedAt: time.Now().UTC()}
	return w
}

// Run watches the files until ctx ends: through file-system notifications (fsnotify) when
// it can, and by polling every opts.Interval in any case.
func (w *Watcher) Run(ctx context.Context, opts WatchOptions) {
	opts.setDefaults()
	events, stopNotify := w.notifications(opts.Interval)
	defer stopNotify()
	poll := time.NewTicker(opts.Interval)
	defer poll.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	pending := false // the settle timer runs
	for {
		select {
		case <-ctx.Done():
			return
		case <-events: // a write: wait for the files to settle from now
			settle.Reset(opts.Settle)
			pending = true
		case <-poll.C: // a change seen by polling: apply checks that the files have settled
			if d, err := digest(w.paths); !pending && (err != nil || d != w.appliedDigest()) {
				settle.Reset(opts.Settle)
				pending = true
			}
		case <-settle.C:
			pending = false
			if wait := w.apply(opts.Settle); wait > 0 {
				settle.Reset(wait)
				pending = true
			}
		}
	}
}

// apply reloads the files if they changed and have settled. It returns how long to wait
// before trying again when they have not settled yet (0: done).
func (w *Watcher) apply(settle time.Duration) time.Duration {
	before, err := fileStamps(w.paths)
	if err == nil {
		if age := w.now().Sub(before.newest); age < settle {
			return settle - age
		}
	}
	d, derr := digest(w.paths)
	if err == nil && derr == nil {
		if after, err := fileStamps(w.paths); err != nil || after.key != before.key {
			return settle // written while it was read
		}
	}
	if err == nil {
		err = derr
	}
	var tell func(error) // the reload's result, told once the lock is released
	defer func() {
		if tell != nil {
			tell(err)
		}
	}()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && (d == w.applied || d == w.refused) {
		return 0
	}
	tell = w.onReload
	var files []*scenarios.File
	if err == nil {
		if files, err = ReadPaths(w.paths); err == nil {
			err = w.engine.Load(append(append([]*scenarios.File(nil), w.builtin...), files...))
		}
	}
	now := w.now().UTC()
	if err != nil {
		if w.status.Error != err.Error() {
			w.log.Error("scenario files refused; the previous set keeps answering", slog.String("problems", err.Error()))
		}
		w.status.Error, w.status.FailedAt, w.refused = err.Error(), now, d
		return 0
	}
	names, _ := expandPaths(w.paths)
	w.applied = d
	w.status = engine.ReloadStatus{Files: names, LoadedAt: now, Watching: w.status.Watching}
	w.log.Info("scenario files reloaded", slog.Any("files", names))
	return 0
}

// appliedDigest is the digest of the files the engine holds.
func (w *Watcher) appliedDigest() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.applied
}

// setWatching says in Status how changes are seen: fsnotify, or polling.
func (w *Watcher) setWatching(how string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.status.Watching = how
}

// Status reports how the last reload went.
func (w *Watcher) Status() engine.ReloadStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// stamps are the names, sizes and modification times of the files at some paths.
type stamps struct {
	key    string
	newest time.Time
}

// fileStamps reads the stamps of the files at paths, and when the newest of them was written.
func fileStamps(paths []string) (stamps, error) {
	names, err := expandPaths(paths)
	if err != nil {
		return stamps{}, err
	}
	var st stamps
	var b strings.Builder
	for _, name := range names {
		info, err := os.Stat(name)
		if err != nil {
			return stamps{}, err
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\x00", name, info.Size(), info.ModTime().UnixNano())
		if info.ModTime().After(st.newest) {
			st.newest = info.ModTime()
		}
	}
	st.key = b.String()
	return st, nil
}

// digest fingerprints the files at paths: their names, sizes and contents.
func digest(paths []string) (string, error) {
	names, err := expandPaths(paths)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(data))
		h.Write(data)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}
