package contract

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Target   string        `json:"target"`
	Vendor   bool          `json:"vendor"`  // regions reached through their own hosts, not the Host header
	Mock     bool          `json:"idvmock"` // the target answered idvmock's /__admin/health, so write cases ran
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"durationNanos"`
	Results  []CaseResult  `json:"results"`
}

// CaseResult is one case on one region.
type CaseResult struct {
	Region      string        `json:"region"`
	Host        string        `json:"host"`
	Case        string        `json:"case"`
	Operation   string        `json:"operation"`
	Method      string        `json:"method,omitempty"`
	URL         string        `json:"url,omitempty"`
	RequestBody string        `json:"requestBody,omitempty"` // the JSON body sent (never the token API's)
	Status      int           `json:"status,omitempty"`
	Code        string        `json:"code,omitempty"`
	Duration    time.Duration `json:"durationNanos"`
	Skipped     string        `json:"skipped,omitempty"` // why the case did not run
	Error       string        `json:"error,omitempty"`   // the request could not be made or answered
	Violations  []Violation   `json:"violations,omitempty"`
}

// Passed reports whether the case ran and broke no rule.
func (r CaseResult) Passed() bool { return r.Skipped == "" && r.Error == "" && len(r.Violations) == 0 }

// Counts are a report's totals.
type Counts struct{ Cases, Passed, Failed, Errors, Skipped int }

// Counts totals the results.
func (r *Report) Counts() Counts {
	var c Counts
	for _, res := range r.Results {
		c.Cases++
		switch {
		case res.Skipped != "":
			c.Skipped++
		case res.Error != "":
			c.Errors++
		case len(res.Violations) > 0:
			c.Failed++
		default:
			c.Passed++
		}
	}
	return c
}

// ExitCode is 0 when every case that ran passed, 1 when a case broke a rule, 2 when a request
// could not be made or answered.
func (r *Report) ExitCode() int {
	c := r.Counts()
	switch {
	case c.Errors > 0:
		return 2
	case c.Failed > 0:
		return 1
	}
	return 0
}

// Report formats.
const (
	FormatText  = "text"
	FormatJSON  = "json"
	FormatJUnit = "junit"
)

// Write writes the report in format (text, json or junit).
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case FormatText, "":
		return r.writeText(w)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*Report
			Counts Counts `json:"counts"`
		}{r, r.Counts()})
	case FormatJUnit:
		return r.writeJUnit(w)
	}
	return fmt.Errorf("report format %q: use text, json or junit", format)
}

func (r *Report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "idvmock contract: %s\n", r.Target)
	for _, res := range r.Results {
		verdict := "PASS"
		switch {
		case res.Skipped != "":
			verdict = "SKIP"
		case res.Error != "":
			verdict = "ERROR"
		case len(res.Violations) > 0:
			verdict = "FAIL"
		}
		fmt.Fprintf(&b, "%-5s %-6s %s", verdict, res.Region, res.Case)
		if res.Status != 0 {
			fmt.Fprintf(&b, " (HTTP %d %s, %.1f ms)", res.Status, res.Code, float64(res.Duration)/float64(time.Millisecond))
		}
		b.WriteByte('\n')
		switch {
		case res.Skipped != "":
			fmt.Fprintf(&b, "      %s\n", res.Skipped)
		case res.Error != "" && res.URL == "":
			fmt.Fprintf(&b, "      %s\n", res.Error)
		case res.Error != "":
			fmt.Fprintf(&b, "      %s %s: %s\n", res.Method, res.URL, res.Error)
		case len(res.Violations) > 0:
			fmt.Fprintf(&b, "      %s %s (Host %s)\n", res.Method, res.URL, res.Host)
			if res.RequestBody != "" {
				fmt.Fprintf(&b, "      body %s\n", clip(res.RequestBody, 200))
			}
			for _, v := range res.Violations {
				fmt.Fprintf(&b, "      %s\n", v)
			}
		}
	}
	c := r.Counts()
	fmt.Fprintf(&b, "%d cases: %d passed, %d failed, %d errors, %d skipped in %s\n",
		c.Cases, c.Passed, c.Failed, c.Errors, c.Skipped, r.Duration.Round(time.Millisecond))
	_, err := io.WriteString(w, b.String())
	return err
}

// junitCounts are the totals JUnit puts on a testsuites or testsuite element.
type junitCounts struct {
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
	Time     string `xml:"time,attr"`
}

type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// writeJUnit writes one testsuite per region, one testcase per case.
func (r *Report) writeJUnit(w io.Writer) error {
	c := r.Counts()
	out := junitSuites{Name: "idvmock contract " + r.Target,
		junitCounts: junitCounts{Tests: c.Cases, Failures: c.Failed, Errors: c.Errors, Skipped: c.Skipped, Time: seconds(r.Duration)}}
	index := map[string]int{}
	durations := map[int]time.Duration{}
	for _, res := range r.Results {
		i, ok := index[res.Region]
		if !ok {
			i = len(out.Suites)
			index[res.Region] = i
			out.Suites = append(out.Suites, junitSuite{Name: fmt.Sprintf("%s (%s)", res.Region, res.Host), Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")})
		}
		s := &out.Suites[i]
		tc := junitCase{Classname: "contract." + res.Region, Name: res.Case, Time: seconds(res.Duration)}
		if res.URL != "" {
			tc.SystemOut = fmt.Sprintf("%s %s (Host %s) -> HTTP %d %s", res.Method, res.URL, res.Host, res.Status, res.Code)
		}
		s.Tests++
		durations[i] += res.Duration
		switch {
		case res.Skipped != "":
			s.Skipped++
			tc.Skipped = &junitProblem{Message: res.Skipped}
		case res.Error != "":
			s.Errors++
			tc.Error = &junitProblem{Message: res.Error, Type: "connection"}
		case len(res.Violations) > 0:
			s.Failures++
			var lines []string
			for _, v := range res.Violations {
				lines = append(lines, v.String())
			}
			tc.Failure = &junitProblem{
				Message: fmt.Sprintf("%d violations: %s", len(res.Violations), strings.Join(RuleIDs(res.Violations), ", ")),
				Type:    "contract",
				Text:    strings.Join(lines, "\n"),
			}
		}
		s.Cases = append(s.Cases, tc)
	}
	for i := range out.Suites {
		out.Suites[i].Time = seconds(durations[i])
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
