package tmpl

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/brianvoe/gofakeit/v6"
)

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// The cache of parsed templates is bounded, and cleared on demand (it grew about 180 MB per
// 20,000 templates and survived a reset).
func TestParsedTemplatesAreBounded(t *testing.T) {
	ClearCache()
	before := liveHeap()
	for i := range 3 * maxCachedTemplates {
		if _, err := Render(fmt.Sprintf("{{ .userId }}-%d-%s", i, strings.Repeat("y", 2000)), Data{UserID: "u"}, gofakeit.NewUnlocked(1), NewBudget()); err != nil {
			t.Fatal(err)
		}
	}
	if n := parsedTemplates.Len(); n > maxCachedTemplates || parsedTemplates.Bytes() > maxCachedTemplateBytes {
		t.Errorf("%d templates, %d bytes cached", n, parsedTemplates.Bytes())
	}
	if grown := int64(liveHeap()) - int64(before); grown > 64<<20 {
		t.Errorf("the live heap grew %d bytes", grown)
	}
	ClearCache()
	if n := parsedTemplates.Len(); n != 0 {
		t.Errorf("%d templates cached after a clear", n)
	}
}

// Each limit stops a template with ErrLimit, and one budget spans every template of an
// answer.
func TestRenderLimits(t *testing.T) {
	f := gofakeit.NewUnlocked(1)
	for name, text := range map[string]string{
		"output":        `{{ range 9000 }}ABCDEFGHIJ{{ end }}`,
		"steps":         `{{ range 100000000 }}{{ end }}`,
		"function size": `{{ $a := printf "%s%s" .userId .userId }}` + strings.Repeat(`{{ $a = printf "%s%s" $a $a }}`, 20),
		"printf width":  `{{ printf "%05000d" 1 }}`,
		"printf star":   `{{ printf "%*d" 10 1 }}`,
		"recursion":     `{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}`,
	} {
		if _, err := Render(text, Data{UserID: "user-id"}, f, NewBudget()); !errors.Is(err, ErrLimit) {
			t.Errorf("%s: %v, want ErrLimit", name, err)
		}
	}
	b := NewBudget()
	large := "{{ .userId }}" + strings.Repeat("x", 64000) // one step, 64,000 bytes
	for range MaxAnswerOutput / 64000 {
		if _, err := Render(large, Data{}, f, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Render(large, Data{}, f, b); !errors.Is(err, ErrLimit) {
		t.Errorf("one field more than the answer's 1 MiB: %v, want ErrLimit", err)
	}
}
