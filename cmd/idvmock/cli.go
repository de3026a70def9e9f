package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. Run gets the arguments after the subcommand's name.
type command interface {
	Run(ctx context.Context, args []string) error
}

// usageError is a mistake in the command line; it exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const mainUsage = `idvmock: a mock of ADVANCE.AI's identity-verification API

Usage:
  idvmock <command> [flags]

Commands:
  serve      run the mock server
  scenarios  lint or list scenario files
  contract   run the contract suite against a mock or the vendor
  validate   check recorded answers (JSON bodies, HAR files) against the contract
  proxy      a validating reverse proxy to the vendor or a mock, optionally recording
  ca         print the local CA that signs serve --tls-addr's certificate
  health     probe a running mock (exit 0 when it answers)
  version    print the version

Examples:
  idvmock serve
  idvmock serve --scenarios qa/scenarios --watch --admin-token "$TOKEN"
  idvmock serve --addr :9090 --auth strict
  idvmock serve --tls-addr :8443          # HTTPS for the vendor's hostnames too
  idvmock scenarios lint qa/scenarios
  IDVMOCK_SEED=42 idvmock serve --log-format json
  idvmock health --addr :9090
  idvmock contract --target http://localhost:8080 --report junit --out report.xml
  idvmock validate recorded.har
  idvmock proxy --upstream https://sg-api.advance.ai --addr :8081 --record qa/recorded

Run 'idvmock <command> --help' for a command's flags. Every flag can also be set with an
IDVMOCK_<FLAG> environment variable (--access-key: IDVMOCK_ACCESS_KEY); a flag on the command
line wins.
`

// run executes the command line and returns the process exit status: 0 on success or help,
// 2 on a usage error, 1 on any other failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, mainUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd command
	switch args[0] {
	case "serve":
		cmd = &serveCmd{stdout: stdout, stderr: stderr}
	case "scenarios":
		cmd = &scenariosCmd{stdout: stdout, stderr: stderr}
	case "health":
		cmd = &healthCmd{stdout: stdout}
	case "contract":
		cmd = &contractCmd{stdout: stdout, stderr: stderr}
	case "validate":
		cmd = &validateCmd{stdout: stdout}
	case "proxy":
		cmd = &proxyCmd{stdout: stdout, stderr: stderr}
	case "ca":
		cmd = &caCmd{stdout: stdout, stderr: stderr}
	case "version":
		cmd = &versionCmd{stdout: stdout}
	default:
		fmt.Fprintf(stderr, "idvmock: unknown command %q\n\n%s", args[0], mainUsage)
		return 2
	}
	err := cmd.Run(ctx, args[1:])
	var usage usageError
	var found problemsFound
	var status exitStatus
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &status):
		if status.msg != "" {
			fmt.Fprintf(stderr, "idvmock %s: %s\n", args[0], status.msg)
		}
		return status.code
	case errors.As(err, &found):
		fmt.Fprintf(stderr, "idvmock %s: %v\n", args[0], err)
		return 1
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "idvmock %s: %v\nRun 'idvmock %s --help' for usage.\n", args[0], err, args[0])
		return 2
	default:
		fmt.Fprintf(stderr, "idvmock %s: %v\n", args[0], err)
		return 1
	}
}

// flags is a subcommand's flag set with its help text.
type flags struct {
	*flag.FlagSet
	synopsis, examples string
	out                io.Writer
}

// newFlags returns a flag set whose --help prints the synopsis, the flags and the examples
// to out. Parse errors are not printed by the flag package: run prints them once.
func newFlags(name, synopsis, examples string, out io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, synopsis: synopsis, examples: examples, out: out}
}

func (f *flags) printHelp() {
	fmt.Fprintf(f.out, "Usage: idvmock %s [flags]\n\n%s\n\nFlags:\n", f.Name(), f.synopsis)
	f.SetOutput(f.out)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	fmt.Fprintf(f.out, "\nEvery flag can also be set with IDVMOCK_<FLAG> (dashes become underscores).\n\nExamples:\n%s", f.examples)
}

// parse reads IDVMOCK_<FLAG> environment variables, then the command line, so that a flag
// given on the command line wins.
func (f *flags) parse(args []string) error {
	var envErr error
	f.VisitAll(func(fl *flag.Flag) {
		name := envName(fl.Name)
		if v, ok := os.LookupEnv(name); ok && envErr == nil {
			if err := f.Set(fl.Name, v); err != nil {
				envErr = usagef("environment variable %s=%q: %v", name, v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printHelp()
			return err
		}
		return usageError{err.Error()}
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	return nil
}

func envName(flagName string) string {
	return "IDVMOCK_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// choice is a string flag that takes one of a fixed set of values, so that a bad value is
// refused where it was given (flag or environment variable).
type choice struct {
	value   string
	allowed []string
}

func (c *choice) String() string { return c.value }

func (c *choice) Set(v string) error {
	for _, a := range c.allowed {
		if v == a {
			c.value = v
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(c.allowed, ", "))
}

// choiceFlag defines a flag that takes one of allowed, the first being the default.
func (f *flags) choiceFlag(name, usage string, allowed ...string) *choice {
	c := &choice{value: allowed[0], allowed: allowed}
	f.Var(c, name, usage)
	return c
}

// stringList is a repeatable flag; each value may hold several comma-separated items.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*l = append(*l, item)
		}
	}
	return nil
}

func sortedHeaderNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
