// Package tmpl evaluates the Go templates scenario files may hold in their strings: the
// request's values and seeded fake data, within limits no template can pass. Lint checks a
// template with Check; the engine renders it with Render.
package tmpl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/brianvoe/gofakeit/v6"
)

// Scenario strings may hold Go templates: {{ .userId }}, {{ .region }}, {{ .country }},
// {{ .solutionCode }} are the request's values, and {{ fake "firstname" }} is a gofakeit
// function, seeded from the seed, the userId and the place of the template, so the same
// request gives the same text. upper, lower, printf and text/template's own functions and
// actions (if, range, with, else, ...) are available too.
//
// Templates come from scenario files and the admin API only: what a caller of the vendor's
// API sends is data and is never parsed as a template. Their execution is bounded, so that
// no template can stall or flood the mock: see the limits below.

// Limits of template execution. Over a limit, building the answer fails: lint reports it
// when it can see it, and otherwise the answer is the vendor's ERROR envelope and the
// journal says why.
const (
	// MaxOutput is the most one template (one field) may write, in bytes; it bounds
	// what each function returns too.
	MaxOutput = 64 << 10
	// MaxAnswerOutput is the most all the templates of one result may write.
	MaxAnswerOutput = 1 << 20
	// MaxSteps is how many loop iterations, function calls and template calls the
	// templates of one result may make.
	MaxSteps = 10_000
	// maxFormatWidth bounds the width and precision of a printf verb (fmt allows 10^6).
	maxFormatWidth = 1024
)

// ErrLimit is wrapped by the errors of a template that passed a limit.
var ErrLimit = errors.New("template limit")

// limitError is a limit a template passed; errors.Is finds ErrLimit in it.
type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

// overLimit is the error of a template that passed a limit, said as format says.
func overLimit(format string, args ...any) error { return &limitError{fmt.Sprintf(format, args...)} }

// templateError says what went wrong with a template in a sentence: the limit it passed, or
// text/template's own message.
func templateError(text string, err error) error {
	shown := text
	if len(shown) > 80 {
		shown = shown[:77] + "..."
	}
	var le *limitError
	if errors.As(err, &le) {
		return fmt.Errorf("template %q %w", shown, le)
	}
	return fmt.Errorf("template %q: %s", shown, strings.TrimPrefix(err.Error(), "template: value:"))
}

// Fields are the request values a template may read.
var Fields = []string{"userId", "region", "country", "solutionCode"}

// Has reports whether s holds a template.
func Has(s string) bool { return strings.Contains(s, "{{") }

// Data is what a template sees of the request.
type Data struct {
	UserID, Region, Country, SolutionCode string
}

// values are the request values under the names a template reads them by (Fields).
func (d Data) values() map[string]string {
	return map[string]string{"userId": d.UserID, "region": d.Region, "country": d.Country, "solutionCode": d.SolutionCode}
}

// Render evaluates text for a request, with fake values drawn from f (seeded by the caller
// from the seed, the userId and the template's place, so the same request gives the same
// text). It spends b, the budget of the whole answer.
func Render(text string, data Data, f *gofakeit.Faker, b *Budget) (string, error) {
	if !Has(text) {
		return text, nil
	}
	t, err := parseTemplate(text)
	if err != nil {
		return "", templateError(text, err)
	}
	t, err = t.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(boundFuncs(f, b))
	w := &limitedWriter{limit: min(MaxOutput, b.bytes)}
	if err := t.Execute(w, data.values()); err != nil {
		return "", templateError(text, err)
	}
	b.bytes -= w.b.Len()
	return w.b.String(), nil
}
