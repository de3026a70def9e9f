//go:build !unix

package mockserver

import "io/fs"

// checkCAFile checks nothing outside Unix: there, file modes do not say who may read or
// change a file (Windows keeps that in ACLs, and Go reports every folder as 0777).
func checkCAFile(string, fs.FileInfo, caFileKind) error { return nil }
