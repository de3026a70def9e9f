package mockserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// writeNewFile creates path, which must not exist (a planted file or link is not followed),
// with mode perm whatever the umask.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// caFileKind is what checkCAFile looks at: the folder, the certificate or the key.
type caFileKind int

const (
	caFolder caFileKind = iota
	caCert
	caKey
)

// readCAFile reads the CA file at path after checking, on the open file, who may change or
// read it. found is false when there is no such file.
func readCAFile(path string, kind caFileKind) (data []byte, found bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the CA: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("reading the CA: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("refusing %s: it is not a regular file; remove it to create a new CA", path)
	}
	if err := checkCAFile(path, fi, kind); err != nil {
		return nil, false, err
	}
	data, err = io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, false, fmt.Errorf("reading the CA: %w", err)
	}
	return data, true, nil
}

// checkCAMode refuses a CA file whose mode perm lets other users change it, or read it when
// it is the key. It tells what to run to fix it.
func checkCAMode(path string, perm fs.FileMode, kind caFileKind) error {
	switch {
	case kind == caFolder && perm&0o022 != 0:
		return fmt.Errorf("refusing the CA folder %s: its mode %04o lets other users write to it, and so plant a CA key that your clients would trust. Run: chmod 700 %s",
			path, perm, shellQuote(path))
	case kind == caKey && perm&0o077 != 0:
		return fmt.Errorf("refusing the CA key %s: its mode %04o lets other users read or write it, and whoever reads it can sign certificates that your clients trust. Run: chmod 600 %s "+
			"(if others may have read it already, remove %s instead to create a new CA)",
			path, perm, shellQuote(path), shellQuote(filepath.Dir(path)))
	case kind == caCert && perm&0o022 != 0:
		return fmt.Errorf("refusing the CA certificate %s: its mode %04o lets other users replace what your clients trust. Run: chmod 644 %s",
			path, perm, shellQuote(path))
	}
	return nil
}

// checkCAOwner refuses a CA file that uid, not the process (me), owns.
func checkCAOwner(path string, uid, me int, kind caFileKind) error {
	if uid == me {
		return nil
	}
	what := map[caFileKind]string{caFolder: "CA folder", caCert: "CA certificate", caKey: "CA key"}[kind]
	return fmt.Errorf("refusing the %s %s: it is owned by uid %d, you are uid %d: remove it, or use --ca-dir to keep the CA in a folder of yours",
		what, path, uid, me)
}

// shellQuote quotes path for a POSIX shell when it needs it, so that the commands the errors
// suggest can be pasted (macOS's configuration folder is "Application Support").
func shellQuote(path string) string {
	if path != "" && strings.Trim(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+:@,%=") == "" {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
