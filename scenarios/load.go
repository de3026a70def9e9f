package scenarios

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
)

// ReadPaths parses the scenario files at paths: files, or folders whose *.yaml, *.yml and
// *.json files are read in name order. Every problem of every file is returned, joined.
func ReadPaths(paths []string) ([]*File, error) {
	names, err := expandPaths(paths)
	if err != nil {
		return nil, err
	}
	var files []*File
	var problems Problems
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("cannot read scenario file %s: %w", name, err)
		}
		f, err := ParseFile(name, strings.NewReader(string(data)))
		var ps Problems
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
	files, err := ReadPaths(paths)
	if err != nil {
		return err
	}
	builtin, err := BuiltinFiles()
	if err != nil {
		return err
	}
	_, err = New(0, append(builtin, files...)...)
	return err
}

// ReloadStatus is how the last reload of the scenario files went.
type ReloadStatus struct {
	Files    []string  `json:"files"`
	LoadedAt time.Time `json:"loadedAt"`
	Error    string    `json:"error,omitempty"` // the refused change, when the last one was refused
	FailedAt time.Time `json:"failedAt,omitempty"`
}

// Watcher reloads scenario files into an engine when they change. A change with problems is
// refused: the engine keeps the previous set, and Status and the log say why.
type Watcher struct {
	paths   []string
	builtin []*File
	engine  *Engine
	log     *slog.Logger

	mu     sync.Mutex
	status ReloadStatus
	digest string
}

// NewWatcher watches paths for engine, whose files are builtin plus those at paths.
func NewWatcher(paths []string, builtin []*File, engine *Engine, log *slog.Logger) *Watcher {
	w := &Watcher{paths: paths, builtin: builtin, engine: engine, log: log}
	w.digest, _ = digest(paths)
	names, _ := expandPaths(paths)
	w.status = ReloadStatus{Files: names, LoadedAt: time.Now().UTC()}
	return w
}

// Run checks the files every interval until ctx ends.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Check()
		}
	}
}

// Check reloads the files if they changed since the last check, and reports whether it
// applied a change.
func (w *Watcher) Check() bool {
	d, err := digest(w.paths)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && d == w.digest {
		return false
	}
	w.digest = d
	if err == nil {
		var files []*File
		if files, err = ReadPaths(w.paths); err == nil {
			err = w.engine.Load(append(append([]*File(nil), w.builtin...), files...))
		}
	}
	now := time.Now().UTC()
	if err != nil {
		w.status.Error, w.status.FailedAt = err.Error(), now
		w.log.Error("scenario files refused; the previous set keeps answering", slog.String("problems", err.Error()))
		return false
	}
	names, _ := expandPaths(w.paths)
	w.status = ReloadStatus{Files: names, LoadedAt: now}
	w.log.Info("scenario files reloaded", slog.Any("files", names))
	return true
}

// Status reports how the last reload went.
func (w *Watcher) Status() ReloadStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
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
