package engine

import "time"

// ReloadStatus is how the last reload of the scenario files went.
type ReloadStatus struct {
	Files    []string  `json:"files"`
	LoadedAt time.Time `json:"loadedAt"`
	Error    string    `json:"error,omitempty"` // the refused change, when the last one was refused
	FailedAt time.Time `json:"failedAt,omitempty"`
	Watching string    `json:"watching,omitempty"` // how changes are seen: "fsnotify" or "polling every 1s"
}
