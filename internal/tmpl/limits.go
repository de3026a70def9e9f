package tmpl

import (
	"fmt"
	"strings"
	"text/template"

	"github.com/brianvoe/gofakeit/v6"
)

// Budget is what the templates of one result may still do.
type Budget struct {
	steps int
	bytes int
}

// NewBudget is the budget of one answer: MaxSteps steps and MaxAnswerOutput bytes.
func NewBudget() *Budget { return &Budget{steps: MaxSteps, bytes: MaxAnswerOutput} }

// step spends one step, or fails when none is left.
func (b *Budget) step() error {
	if b.steps <= 0 {
		return overLimit("makes more than %d loop iterations and function calls in one answer", MaxSteps)
	}
	b.steps--
	return nil
}

// capped checks what a function returns against MaxOutput.
func capped(s string) (string, error) {
	if len(s) > MaxOutput {
		return "", overLimit("calls a function that returns %d bytes; at most %d are allowed", len(s), MaxOutput)
	}
	return s, nil
}

// boundFuncs are the template functions of one execution: each counts a step and returns at
// most MaxOutput bytes, fmt's and text/template's own printing functions included.
func boundFuncs(f *gofakeit.Faker, b *Budget) template.FuncMap {
	text := func(fn func(...any) string) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			return capped(fn(args...))
		}
	}
	upper := func(fn func(string) string) func(string) (string, error) {
		return func(s string) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			return capped(fn(s))
		}
	}
	return template.FuncMap{
		stepFunc: func() (string, error) { return "", b.step() },
		"fake": func(name string, params ...string) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			v, err := FakeValue(f.Rand, name, params)
			if err != nil {
				return "", err
			}
			return capped(v)
		},
		"upper": upper(strings.ToUpper),
		"lower": upper(strings.ToLower),
		"printf": func(format string, args ...any) (string, error) {
			if err := b.step(); err != nil {
				return "", err
			}
			if err := checkFormat(format); err != nil {
				return "", err
			}
			return capped(fmt.Sprintf(format, args...))
		},
		"print":    text(fmt.Sprint),
		"println":  text(fmt.Sprintln),
		"html":     text(template.HTMLEscaper),
		"js":       text(template.JSEscaper),
		"urlquery": text(template.URLQueryEscaper),
	}
}

// checkFormat refuses printf widths and precisions that would make fmt allocate more than a
// field may hold: over maxFormatWidth, or given as * (from an argument).
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format) && strings.IndexByte("+-# 0[]123456789.*", format[i]) >= 0; i++ {
			switch c := format[i]; {
			case c == '*':
				return overLimit("calls printf %q with a width from an argument (*); write the width as a number up to %d", format, maxFormatWidth)
			case c >= '1' && c <= '9' && (i == 0 || format[i-1] != '['):
				n := 0
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					if n = n*10 + int(format[i]-'0'); n > maxFormatWidth {
						return overLimit("calls printf %q with a width or precision over %d", format, maxFormatWidth)
					}
				}
				i--
			}
		}
	}
	return nil
}

// limitedWriter fails once more than limit bytes have been written.
type limitedWriter struct {
	b     strings.Builder
	limit int
}

// Write writes p, or fails without writing when it would pass the limit.
func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.limit {
		return 0, overLimit("writes more than %d bytes", w.limit)
	}
	return w.b.Write(p)
}
