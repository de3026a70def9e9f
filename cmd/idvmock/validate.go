package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/idvmock/idvmock/contract"
)

const validateExamples = `  idvmock validate answer.json
  idvmock validate session.har another.har
  curl -s -H 'X-ACCESS-TOKEN: t' "$LATEST?userId=user_active" | idvmock validate -
`

const validateSynopsis = `Check recorded exchanges against openapi.yaml and the vendor's rules, offline. Each
argument is a file, or - for standard input, holding a HAR file (as browsers and proxies
export them), an exchange file (idvmock's fixture format), or a bare JSON body, checked as an
answer of Get Latest Session Result. Entries for other endpoints are skipped. A
transactionId must be unique within one file; files are checked independently.
Exit 0 when every exchange conforms, 1 on any violation, 2 when a file cannot be read.`

type validateCmd struct {
	stdout io.Writer
	stdin  io.Reader
}

func (c *validateCmd) Run(_ context.Context, args []string) error {
	fs := newFlags("validate", validateSynopsis, validateExamples, c.stdout)
	if err := fs.parse(nonFileArgs(args)); err != nil {
		return err
	}
	files := fileArgs(args)
	if len(files) == 0 {
		return usagef("give at least one file, or - for standard input")
	}
	checker, err := contract.NewChecker()
	if err != nil {
		return err
	}
	var checked, failed, skipped int
	for _, name := range files {
		data, err := c.read(name)
		if err != nil {
			return exitStatus{2, err.Error()}
		}
		recs, err := contract.ReadExchanges(name, data)
		if err != nil {
			return exitStatus{2, err.Error()}
		}
		fileRun := checker.NewRun() // a transactionId must be unique within one recording, not across unrelated ones
		for _, r := range recs {
			where := fmt.Sprintf("%s: %s %s", r.Label, r.Request.Method, r.Request.URL)
			if checker.Operation(r.Request) == "" {
				skipped++
				fmt.Fprintf(c.stdout, "SKIP %s (not an operation of the vendor's API)\n", where)
				continue
			}
			checked++
			check := fileRun
			if r.Bare { // a body saved on its own: no run to be unique in
				check = checker.NewRun()
			}
			vs := check.Check(r.Exchange)
			if len(vs) == 0 {
				fmt.Fprintf(c.stdout, "PASS %s\n", where)
				continue
			}
			failed++
			fmt.Fprintf(c.stdout, "FAIL %s\n", where)
			for _, v := range vs {
				fmt.Fprintf(c.stdout, "     %s\n", v)
			}
		}
	}
	fmt.Fprintf(c.stdout, "%d exchanges checked: %d passed, %d failed; %d skipped\n", checked, checked-failed, failed, skipped)
	if failed > 0 {
		return exitStatus{code: 1}
	}
	return nil
}

func (c *validateCmd) read(name string) ([]byte, error) {
	if name == "-" {
		in := c.stdin
		if in == nil {
			in = os.Stdin
		}
		return io.ReadAll(in)
	}
	return os.ReadFile(name)
}

// fileArgs are the arguments that are not flags: files, and - for standard input.
func fileArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if a == "-" || (len(a) > 0 && a[0] != '-') {
			out = append(out, a)
		}
	}
	return out
}

func nonFileArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "-" && len(a) > 0 && a[0] == '-' {
			out = append(out, a)
		}
	}
	return out
}
