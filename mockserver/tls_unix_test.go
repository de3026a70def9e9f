//go:build unix

package mockserver

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A CA folder others may write to, a key others may read or write, a ca.pem others may write
// are refused with the chmod that fixes them; 0755 folders (the Docker image's /ca) and 0400
// keys are fine.
func TestCAFileModes(t *testing.T) {
	for _, tc := range []struct {
		file string // "." for the folder
		mode os.FileMode
		want string // in the error; "" for none
	}{
		{".", 0o777, "chmod 700 %s"},
		{".", 0o770, "chmod 700 %s"},
		{".", 0o702, "chmod 700 %s"},
		{".", 0o777 | os.ModeSticky, "chmod 700 %s"},
		{".", 0o755, ""},
		{".", 0o750, ""},
		{CAKeyFile, 0o666, "chmod 600 %s"},
		{CAKeyFile, 0o644, "chmod 600 %s"},
		{CAKeyFile, 0o640, "chmod 600 %s"},
		{CAKeyFile, 0o604, "chmod 600 %s"},
		{CAKeyFile, 0o620, "chmod 600 %s"},
		{CAKeyFile, 0o400, ""},
		{CACertFile, 0o666, "chmod 644 %s"},
		{CACertFile, 0o664, "chmod 644 %s"},
		{CACertFile, 0o444, ""},
	} {
		t.Run(tc.file+" "+tc.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			ca, _ := loadTestCA(t, dir)
			path := filepath.Join(dir, tc.file)
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			again, created, err := LoadOrCreateCA(dir)
			if tc.want == "" {
				if err != nil || created || string(again.PEM) != string(ca.PEM) {
					t.Errorf("created %v, err %v: want the CA loaded", created, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("mode %04o of %s: loaded, want refused", tc.mode, path)
			}
			fix := fmt.Sprintf(tc.want, filepath.Clean(path))
			if !strings.Contains(err.Error(), fix) || !strings.Contains(err.Error(), fmt.Sprintf("%04o", tc.mode.Perm())) {
				t.Errorf("error %q, want it to give the mode and say %q", err, fix)
			}
		})
	}
}

// An empty folder that exists already is checked too: a 0777 one is refused and left empty,
// a 0755 one (the Docker image's /ca) gets the CA and keeps its mode, so that a volume can
// share ca.pem with clients running as other users.
func TestCAInAnExistingFolder(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	if _, _, err := LoadOrCreateCA(open); err == nil || !strings.Contains(err.Error(), "chmod 700 "+open) {
		t.Errorf("an empty 0777 folder: %v, want refused", err)
	}
	if entries, _ := os.ReadDir(open); len(entries) != 0 {
		t.Errorf("a refused folder got %d files", len(entries))
	}

	shared := filepath.Join(t.TempDir(), "ca")
	if err := os.Mkdir(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o755)
	if _, created, err := LoadOrCreateCA(shared); err != nil || !created {
		t.Fatalf("an empty 0755 folder: created %v, %v", created, err)
	}
	for file, mode := range map[string]os.FileMode{".": 0o755, CAKeyFile: 0o600, CACertFile: 0o644} {
		if fi, err := os.Stat(filepath.Join(shared, file)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", file, err, fi.Mode().Perm(), mode)
		}
	}
}

// A CA folder, key or certificate that another user owns is refused, naming both uids.
func TestCAOwnedByAnotherUser(t *testing.T) {
	me := os.Geteuid()
	realOwner := fileOwner
	for _, file := range []string{".", CAKeyFile, CACertFile} {
		t.Run(file, func(t *testing.T) {
			dir := t.TempDir()
			loadTestCA(t, dir)
			path := filepath.Join(dir, file)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			fileOwner = func(got fs.FileInfo) (int, bool) {
				if os.SameFile(got, fi) {
					return me + 1, true
				}
				return realOwner(got)
			}
			t.Cleanup(func() { fileOwner = realOwner })
			_, _, err = LoadOrCreateCA(dir)
			want := fmt.Sprintf("%s: it is owned by uid %d, you are uid %d: remove it, or use --ca-dir", filepath.Clean(path), me+1, me)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%v, want an error saying %q", err, want)
			}
		})
	}

	// For real, as root: a key another user owns.
	if me != 0 {
		return
	}
	dir := t.TempDir()
	loadTestCA(t, dir)
	if err := os.Chown(filepath.Join(dir, CAKeyFile), 65532, 65532); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "owned by uid 65532, you are uid 0") {
		t.Errorf("a key uid 65532 owns: %v, want refused", err)
	}
}
