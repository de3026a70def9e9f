package files

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

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
		if info, err := os.Stat(p); err == nil && info.IsDir() && strings.HasPrefix(filepath.Clean(name), filepath.Clean(p)+string(filepath.Separator)) && scenarioName(name) {
			return true
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
