package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/idvmock/idvmock/engine"
	"github.com/idvmock/idvmock/scenarios"
	"github.com/idvmock/idvmock/scenarios/files"
)

const scenariosUsage = `Usage:
  idvmock scenarios lint PATH...   check scenario files (or folders) as serve would, without serving
  idvmock scenarios list [PATH...] print the users, scenarios and rules serve would load

lint prints every problem as file:line:column: path: what (hint) and exits 1 if there is one.

Examples:
  idvmock scenarios lint examples/scenarios
  idvmock scenarios list qa/scenarios/*.yaml
`

type scenariosCmd struct{ stdout, stderr io.Writer }

// problemsFound is a lint that found problems: already printed, exit status 1.
type problemsFound struct{ n int }

func (e problemsFound) Error() string {
	if e.n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", e.n)
}

func (c *scenariosCmd) Run(_ context.Context, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(c.stdout, scenariosUsage)
		if len(args) == 0 {
			return usagef("lint or list?")
		}
		return nil
	}
	sub := args[0]
	if sub != "lint" && sub != "list" {
		return usagef("unknown scenarios command %q: use lint or list", sub)
	}
	paths, help, err := pathArgs(sub, args[1:])
	if help {
		fmt.Fprint(c.stdout, scenariosUsage)
		return nil
	}
	if err != nil {
		return err
	}
	if sub == "list" {
		return c.list(paths)
	}
	if len(paths) == 0 {
		return usagef("lint needs at least one file or folder")
	}
	return c.lint(paths)
}

// pathArgs reads the arguments of lint and list: paths, or --help. They take no flags; a path
// that starts with - goes after --.
func pathArgs(sub string, args []string) (paths []string, help bool, err error) {
	for i, a := range args {
		switch {
		case a == "--":
			return append(paths, args[i+1:]...), false, nil
		case a == "-h" || a == "-help" || a == "--help":
			return nil, true, nil
		case len(a) > 1 && a[0] == '-':
			return nil, false, usagef("scenarios %s takes no flag %s, only files and folders (give a path starting with - after --)", sub, a)
		}
		paths = append(paths, a)
	}
	return paths, false, nil
}

func (c *scenariosCmd) lint(paths []string) error {
	files, err := files.LintFiles(paths)
	for _, f := range files {
		if why := f.Skipped(); why != "" {
			fmt.Fprintf(c.stdout, "skipped: %s is %s\n", f.Name(), why)
		}
	}
	if err == nil {
		fmt.Fprintf(c.stdout, "ok: %s\n", strings.Join(paths, " "))
		return nil
	}
	problems, ok := err.(scenarios.Problems)
	if !ok {
		return err
	}
	for _, p := range problems {
		fmt.Fprintln(c.stdout, p.Error())
	}
	return problemsFound{len(problems)}
}

func (c *scenariosCmd) list(paths []string) error {
	declared, err := files.ReadPaths(paths)
	if err != nil {
		return err
	}
	builtin, err := files.Builtin()
	if err != nil {
		return err
	}
	eng, err := engine.NewEngine(0, append(builtin, declared...), nil)
	if err != nil {
		return err
	}
	set := eng.Set()
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "FILES\t%s\n", strings.Join(set.Files(), ", "))
	fmt.Fprintf(w, "SCENARIOS\t%s\n", strings.Join(set.ScenarioNames(), ", "))
	fmt.Fprintf(w, "SOLUTION CODES\t%s\n\n", strings.Join(set.SolutionCodes(), ", "))
	fmt.Fprintln(w, "USER\tSOURCE\tSCENARIO\tREGIONS\tSTATES")
	users, err := eng.Users(context.Background())
	if err != nil {
		return err
	}
	for _, u := range users {
		regions := strings.Join(u.Regions, ",")
		if regions == "" {
			regions = "all"
		}
		scenario := u.Scenario
		if scenario == "" {
			scenario = "-"
		}
		states := strings.Join(u.States, " > ")
		if len(u.States) == 1 {
			states = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.UserID, u.Source, scenario, regions, states)
	}
	if rules := set.Rules(); len(rules) > 0 {
		fmt.Fprintln(w, "\nRULE\tSOURCE\tMATCH\tANSWER\tFAULTS")
		for _, r := range rules {
			answer := r.Spec.Scenario
			if answer == "" && r.Profile != nil {
				answer = "inline profile"
			}
			if answer == "" {
				answer = "-"
			}
			var faults []string
			for _, f := range r.Faults {
				faults = append(faults, fmt.Sprintf("%s@%g", f.Kind, f.Probability))
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Source, describeMatch(r.Spec.Match.Masked()), answer, strings.Join(faults, " "))
		}
	}
	return w.Flush()
}

func describeMatch(m scenarios.MatchSpec) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	add("operation", m.Operation)
	add("userId", m.UserID)
	add("userIdGlob", m.UserIDGlob)
	add("userIdRegex", m.UserIDRegex)
	add("solutionCode", m.SolutionCode)
	add("regions", strings.Join(m.Regions, ","))
	for _, k := range sortedHeaderNames(m.Headers) {
		add("header:"+k, m.Headers[k])
	}
	if len(parts) == 0 {
		return "any request"
	}
	return strings.Join(parts, " ")
}
