package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/idvmock/idvmock/mockserver"
)

const caUsage = `Usage:
  idvmock ca print [--ca-dir DIR]   print the local CA's certificate (PEM), creating the CA if needed
  idvmock ca path  [--ca-dir DIR]   print the path of that certificate

serve --tls-addr signs its HTTPS certificate (for the vendor's six hostnames, localhost and
127.0.0.1) with this CA. Trust it in your clients: curl --cacert, SSL_CERT_FILE,
NODE_EXTRA_CA_CERTS, the JVM's keytool, or the system store (see README).

The CA may sign only those names (name constraints) and lives 2 years; an expired one is
replaced by a new one, which clients must then trust. Like ssh, idvmock refuses a CA folder
that other users may write to, or a key that they may read.

Examples:
  idvmock ca print > idvmock-ca.pem
  curl --cacert "$(idvmock ca path)" --resolve sg-api.advance.ai:8443:127.0.0.1 https://sg-api.advance.ai:8443/__admin/health
`

type caCmd struct {
	stdout io.Writer
	stderr io.Writer // the CA's warnings
}

func (c *caCmd) Run(_ context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stdout, caUsage)
		if len(args) == 0 {
			return usagef("print or path?")
		}
		return nil
	}
	sub := args[0]
	if sub != "print" && sub != "path" {
		return usagef("unknown ca command %q: use print or path", sub)
	}
	fs := newFlags("ca "+sub, "Print the local CA's certificate, or its path.", "  idvmock ca print > idvmock-ca.pem\n", c.stdout)
	dir := fs.String("ca-dir", "", "`folder` of the local CA (default: idvmock/ca under the user's config folder)")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	ca, _, err := loadCA(*dir)
	if err != nil {
		return err
	}
	// The same warnings serve logs (a renewed, expiring or unconstrained CA), kept off stdout,
	// which scripts capture: idvmock ca print > idvmock-ca.pem.
	for _, note := range ca.Notes {
		fmt.Fprintf(c.stderr, "idvmock ca: warning: %s\n", note)
	}
	if sub == "path" {
		fmt.Fprintln(c.stdout, filepath.Join(ca.Dir, mockserver.CACertFile))
		return nil
	}
	_, err = c.stdout.Write(ca.PEM)
	return err
}
