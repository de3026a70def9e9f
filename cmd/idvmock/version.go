package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = ""

type versionCmd struct{ stdout io.Writer }

func (c *versionCmd) Run(_ context.Context, args []string) error {
	fs := newFlags("version", "Print idvmock's version.", "  idvmock version\n", c.stdout)
	if err := fs.parse(args); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "idvmock %s %s\n", currentVersion(), runtime.Version())
	return nil
}

// currentVersion is the link-time version, else the module version from the build info, else "dev".
func currentVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
