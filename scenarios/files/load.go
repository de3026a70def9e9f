package files

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"gopkg.in/yaml.v3"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
)

// ReadPaths parses the scenario files at paths: files, or folders whose *.yaml, *.yml and
// *.json files are read in name order. Every problem of every file is returned, joined. A
// file in a folder that is plainly one of idvmock's other formats (a contract users or cases
// file, an exchange file, a HAR file) is skipped: it comes back as a file that declares
// nothing, whose Skipped says why. Named on its own, such a file is a problem.
func ReadPaths(paths []string) ([]*scenarios.File, error) {
	names, err := expandPaths(paths)
	if err != nil {
		return nil, err
	}
	explicit := map[string]bool{}
	for _, p := range paths {
		explicit[p] = true
	}
	var files []*scenarios.File
	var problems scenarios.Problems
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read scenario file %s: %w", name, err)
		}
		if kind := otherFormat(data); kind != "" {
			if !explicit[name] {
				files = append(files, scenarios.SkippedFile(name, kind+", not a scenario file"))
				continue
			}
			problems = append(problems, scenarios.Problem{File: name, Line: 1, Column: 1, What: "is " + kind + ", not a scenario file",
				Hint: "give serve and lint scenario files only; keep contract files in a folder of their own"})
			continue
		}
		f, err := Parse(name, strings.NewReader(string(data)))
		var ps scenarios.Problems
		switch {
		case errors.As(err, &ps):
			problems = append(problems, ps...)
		case err != nil:
			return nil, err
		default:
			files = append(files, f)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return files, nil
}

// otherFormat recognises idvmock's files that are not scenario files, by their top-level
// keys, and says which kind it is; "" for anything else.
func otherFormat(data []byte) string {
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil {
		return ""
	}
	switch {
	case top["cases"] != nil:
		return "a contract cases file (idvmock contract --cases)"
	case top["exchanges"] != nil:
		return "an exchange file (idvmock validate)"
	case top["log"] != nil:
		return "a HAR file (idvmock validate)"
	}
	users, ok := top["users"].(map[string]any)
	if !ok || len(top) != 1 || len(users) == 0 {
		return ""
	}
	for _, v := range users {
		if _, scalar := v.(string); !scalar {
			return ""
		}
	}
	return "a contract users file (idvmock contract --users)"
}

// expandPaths lists the files named by paths, folders expanded.
func expandPaths(paths []string) ([]string, error) {
	var names []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("scenario path %s: %w", p, errors.Unwrap(err))
		}
		if !info.IsDir() {
			names = append(names, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				if !d.IsDir() {
					found = append(found, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("scenario folder %s holds no .yaml, .yml or .json file", p)
		}
		sort.Strings(found)
		names = append(names, found...)
	}
	return names, nil
}

// Lint checks scenario files the way serve does, with the built-in files, and returns every
// problem.
func Lint(paths []string) error {
	_, err := LintFiles(paths)
	return err
}

// LintFiles is Lint, and says which files were read and which skipped (see ReadPaths).
func LintFiles(paths []string) ([]*scenarios.File, error) {
	files, err := ReadPaths(paths)
	if err != nil {
		return nil, err
	}
	builtin, err := Builtin()
	if err != nil {
		return nil, err
	}
	_, err = engine.New(0, append(builtin, files...)...)
	return files, err
}

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

	mu      sync.Mutex
	status  engine.ReloadStatus
	applied string // digest of the files the engine holds
	refused string // digest of the files last refused: not compiled again until they change
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

// notifications returns a channel that receives when a file under the paths changes, and a
// function that stops it. Without fsnotify (an error starting it), the channel never
// receives and polling alone sees changes.
func (w *Watcher) notifications(interval time.Duration) (<-chan struct{}, func()) {
	out := make(chan struct{}, 1)
	nw, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.watchFolders(nw)
	}
	if err != nil {
		if nw != nil {
			nw.Close()
		}
		w.setWatching(fmt.Sprintf("polling every %v", interval))
		w.log.Warn("no file-system notifications for the scenario files; polling them", slog.String("error", err.Error()), slog.Duration("interval", interval))
		return out, func() {}
	}
	w.setWatching("fsnotify")
	go func() {
		for {
			select {
			case ev, ok := <-nw.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) {
					if info, err := os.Stat(ev.Name); err == nil && info.IsDir() {
						_ = nw.Add(ev.Name) // a new subfolder of a watched folder
						continue
					}
				}
				if !w.concerns(ev.Name) {
					continue
				}
				select {
				case out <- struct{}{}:
				default:
				}
			case _, ok := <-nw.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return out, func() { nw.Close() }
}

// concerns reports whether a change to the file called name can change the scenario files:
// a file the paths name, or a scenario file in a folder they name. Other files in the same
// folders (an editor's swap files, logs) do not hold a change back.
func (w *Watcher) concerns(name string) bool {
	for _, p := range w.paths {
		if filepath.Clean(name) == filepath.Clean(p) {
			return true
		}
		if info, err := os.Stat(p); err == nil && info.IsDir() && strings.HasPrefix(filepath.Clean(name), filepath.Clean(p)+string(filepath.Separator)) {
			switch strings.ToLower(filepath.Ext(name)) {
			case ".yaml", ".yml", ".json":
				return true
			}
		}
	}
	return false
}

// watchFolders watches every folder the paths name (and their subfolders), and the folder
// of every file they name: editors replace a file by renaming a new one over it.
func (w *Watcher) watchFolders(nw *fsnotify.Watcher) error {
	for _, p := range w.paths {
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !info.IsDir() {
			if err := nw.Add(filepath.Dir(p)); err != nil {
				return err
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			return nw.Add(path)
		})
		if err != nil {
			return err
		}
	}
	return nil
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
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && (d == w.applied || d == w.refused) {
		return 0
	}
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

func (w *Watcher) appliedDigest() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.applied
}

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
