//go:build unix

package mockserver

import (
	"io/fs"
	"os"
	"syscall"
)

// fileOwner is the uid that owns the file of fi; a variable so that tests can play another
// user's file.
var fileOwner = func(fi fs.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// checkCAFile refuses, as ssh does, a CA file (fi, at path) that another user owns, or whose
// mode lets other users change it, or read it when it is the key.
func checkCAFile(path string, fi fs.FileInfo, kind caFileKind) error {
	if uid, ok := fileOwner(fi); ok {
		if err := checkCAOwner(path, uid, os.Geteuid(), kind); err != nil {
			return err
		}
	}
	return checkCAMode(path, fi.Mode().Perm(), kind)
}
