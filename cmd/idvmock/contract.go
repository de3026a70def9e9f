package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/contract"
)

const contractExamples = `  idvmock contract --target http://localhost:8080
  idvmock contract --target http://localhost:8080 --region all --report junit --out report.xml
  IDVMOCK_ACCESS_KEY=... IDVMOCK_SECRET_KEY=... idvmock contract --target https://api.advance.ai --users qa/contract-users.yaml
  IDVMOCK_TOKEN="$TOKEN" idvmock contract --target https://sg-api.advance.ai --region sg --users qa/contract-users.yaml
  IDVMOCK_TOKEN="$TOKEN" idvmock contract --target https://sg-api.advance.ai --region sg --users qa/contract-users.yaml --allow-writes
`

const contractSynopsis = `Run the contract suite against a target (a running mock, or the vendor): send each case on
each region and check every answer against openapi.yaml and the vendor's rules.
Exit 0 when every case passes, 1 on any violation, 2 on usage or connection errors.

Against one base URL (a mock), regions are reached through the Host header; against
api.advance.ai or a regional host, through each regional host. Against the vendor, use your
own test users (--users) and a token from your secrets, never production users. Cases
that change data (Update Status; Generate URL for users --users does not name) run only
against an idvmock or with --allow-writes.`

// exitStatus ends a command with a status other than 1, its message already printed (when
// msg is empty) or to print.
type exitStatus struct {
	code int
	msg  string
}

func (e exitStatus) Error() string { return e.msg }

type contractCmd struct {
	stdout, stderr io.Writer
}

// Run runs the suite as the command line asks, writes the report and ends with the
// report's exit status.
func (c *contractCmd) Run(ctx context.Context, args []string) error {
	opts, format, out, err := c.options(args)
	if err != nil {
		return err
	}
	rep, err := c.runSuite(ctx, opts)
	if err != nil {
		return err
	}
	if err := c.writeReport(rep, format, out); err != nil {
		return err
	}
	if code := rep.ExitCode(); code != 0 {
		return exitStatus{code: code}
	}
	return nil
}

// options reads the command line: the suite's options, with the users and cases files read
// and checked, the report's format, and the file the report goes to ("": stdout).
func (c *contractCmd) options(args []string) (opts contract.Options, format, out string, err error) {
	fs := newFlags("contract", contractSynopsis, contractExamples, c.stdout)
	target := fs.String("target", "", "base `URL` of the target: http://localhost:8080, https://api.advance.ai, ... (required)")
	region := fs.String("region", "all", "`regions` to run on: all, or a comma-separated list of api (or global), sg, ph, th, my, vn")
	usersFile := fs.String("users", "", "YAML `file` mapping the cases' states to userIds (default: idvmock's demo users)")
	var caseFiles stringList
	fs.Var(&caseFiles, "cases", "YAML `file` of more cases, added to the built-in ones (repeatable)")
	token := fs.String("token", "", "X-ACCESS-TOKEN to send; without it, one is obtained through the token API")
	accessKey := fs.String("access-key", "", "accessKey for the token API (prefer IDVMOCK_ACCESS_KEY; default against a mock: the vendor's sample key)")
	secretKey := fs.String("secret-key", "", "secretKey for the token API (prefer IDVMOCK_SECRET_KEY)")
	report := fs.choiceFlag("report", "report `format`: text, json or junit", contract.FormatText, contract.FormatJSON, contract.FormatJUnit)
	outFile := fs.String("out", "", "write the report to this `file` (the text report then goes to stdout)")
	allowWrites := fs.Bool("allow-writes", false, "run the cases that change the target's data (Update Status; Generate URL for users --users does not name) whatever the target; without it they run only against an idvmock, detected through its /__admin/health")
	timeout := fs.Duration("timeout", 15*time.Second, "give up on one request after this long")
	if err := fs.parse(args); err != nil {
		return opts, "", "", err
	}
	if *target == "" {
		return opts, "", "", usagef("--target is required: the base URL of a running mock or of the vendor")
	}
	opts = contract.Options{Target: *target, Token: *token, AccessKey: *accessKey, SecretKey: *secretKey,
		AllowWrites: *allowWrites, Client: &http.Client{Timeout: *timeout}}
	if (*accessKey == "") != (*secretKey == "") {
		return opts, "", "", usagef("give both the access key and the secret key (IDVMOCK_ACCESS_KEY and IDVMOCK_SECRET_KEY), or --token")
	}
	opts.Regions = regionNames(*region)
	if opts.Users, err = readUsers(*usersFile); err != nil {
		return opts, "", "", err
	}
	if opts.Cases, err = readCases(caseFiles); err != nil {
		return opts, "", "", err
	}
	return opts, report.value, *outFile, nil
}

// regionNames are the regions --region names, api standing for global; nil for all.
func regionNames(region string) []string {
	if region == "all" {
		return nil
	}
	var names []string
	for _, r := range strings.Split(region, ",") {
		r = strings.TrimSpace(r)
		if r == "api" {
			r = "global"
		}
		names = append(names, r)
	}
	return names
}

// readUsers reads the users file of --users; nil (idvmock's demo users) without one.
func readUsers(file string) (map[string]string, error) {
	if file == "" {
		return nil, nil
	}
	return readFlagFile("--users", file, contract.ParseUsers)
}

// readCases is the built-in cases followed by those of the --cases files; nil (the built-in
// cases) without any.
func readCases(files []string) ([]contract.Case, error) {
	if len(files) == 0 {
		return nil, nil
	}
	cases := contract.BuiltinCases()
	for _, f := range files {
		more, err := readFlagFile("--cases", f, contract.ParseCases)
		if err != nil {
			return nil, err
		}
		cases = append(cases, more...)
	}
	return cases, nil
}

// readFlagFile reads the file a flag names and parses it; a file that cannot be read or
// parsed is a usage error.
func readFlagFile[T any](flag, file string, parse func(name string, data []byte) (T, error)) (T, error) {
	var none T
	data, err := os.ReadFile(file)
	if err != nil {
		return none, usagef("%s: %v", flag, err)
	}
	v, err := parse(file, data)
	if err != nil {
		return none, usageError{err.Error()}
	}
	return v, nil
}

// runSuite runs the suite, with a progress line on a terminal, and words its errors in the
// terms of the command line.
func (c *contractCmd) runSuite(ctx context.Context, opts contract.Options) (*contract.Report, error) {
	if isTerminal(c.stderr) {
		opts.Progress = func(done, total int, region, name string) {
			fmt.Fprintf(c.stderr, "\r\033[K[%d/%d] %s: %s", done+1, total, region, name)
		}
	}
	rep, err := contract.Run(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprint(c.stderr, "\r\033[K")
	}
	var usage contract.UsageError
	var unreachable *contract.UnreachableError
	switch {
	case errors.As(err, &usage):
		return nil, flagWording(usage)
	case errors.As(err, &unreachable):
		return nil, exitStatus{2, unreachableWording(unreachable)}
	case err != nil:
		return nil, exitStatus{2, err.Error()}
	}
	return rep, nil
}

// writeReport writes the report in format to stdout or, when out names a file, to that file,
// and then the text report to stdout.
func (c *contractCmd) writeReport(rep *contract.Report, format, out string) error {
	if out == "" {
		return rep.Write(c.stdout, format)
	}
	var buf bytes.Buffer
	if err := rep.Write(&buf, format); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return exitStatus{2, fmt.Sprintf("--out: %v", err)}
	}
	if err := rep.Write(c.stdout, contract.FormatText); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s report written to %s\n", format, out)
	return nil
}

// fieldFlags are the flags that set the fields of contract.Options and contract.ProxyOptions
// that a contract.UsageError may name.
var fieldFlags = map[string]string{"Target": "--target", "Upstream": "--upstream"}

// flagWording words a usage error of package contract, which names a field of its options, in
// the terms of the command line: the flag or variables a user sets instead.
func flagWording(e contract.UsageError) error {
	switch flag, ok := fieldFlags[e.Field]; {
	case ok:
		return usagef("%s %q: %v", flag, e.Value, e.Err)
	case e.Field == "Regions": // --region takes all and api too
		regions, err := idvmock.LoadRegions()
		if err != nil {
			return err
		}
		return usagef("region %q: use all or one of %s", e.Value, strings.Join(regions.Names(), ", "))
	case e.Field == "Token":
		return usagef("against the vendor, give --token, or IDVMOCK_ACCESS_KEY and IDVMOCK_SECRET_KEY to obtain one")
	}
	return usageError{e.Error()}
}

// unreachableWording says what to do about a target nothing answers at, with the flags.
func unreachableWording(e *contract.UnreachableError) string {
	if e.Vendor {
		return fmt.Sprintf("cannot connect to %s (%v): check the network and proxy settings, or leave that region out with --region", e.Target, e.Err)
	}
	return fmt.Sprintf("cannot connect to %s (%v): is the mock running there? Start it with idvmock serve, or correct --target", e.Target, e.Err)
}

// isTerminal reports whether w is a terminal, where a progress line helps; CI logs get none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
