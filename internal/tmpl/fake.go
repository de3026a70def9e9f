package tmpl

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/idvmock/idvmock/internal/bounded"
	"github.com/idvmock/idvmock/internal/edit"
)

// FakeValue runs the gofakeit function name with parameters "key=value" on r.
func FakeValue(r *rand.Rand, name string, params []string) (string, error) {
	info := gofakeit.GetFuncLookup(name)
	if info == nil {
		return "", fmt.Errorf("gofakeit has no function %q%s", name, fakeHint(name))
	}
	m := gofakeit.NewMapParams()
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return "", fmt.Errorf("parameter %q of %s: write key=value", p, name)
		}
		m.Add(k, v)
	}
	v, err := info.Generate(r, m, info)
	if err != nil {
		return "", fmt.Errorf("gofakeit %s: %v", name, err)
	}
	return fmt.Sprint(v), nil
}

// fakeHint names the gofakeit function closest to name, as a hint in parentheses, or is ""
// when none is close.
func fakeHint(name string) string {
	names := make([]string, 0, len(gofakeit.FuncLookups))
	for k := range gofakeit.FuncLookups {
		names = append(names, k)
	}
	sort.Strings(names)
	if best, d := edit.Closest(name, names); d <= 3 {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// repeats remembers which gofakeit calls repeat, by name and parameters: bounded, since the
// admin API can send parameters without end.
var repeats = bounded.NewCache[string, bool](1024, 0)

// fakeRepeats reports whether a gofakeit function depends only on the source it is given:
// the same seed must give the same value. A few v6 functions (date, daterange, person, ...)
// read gofakeit's global source instead, which moves on with every use: two calls with
// equally seeded private sources then differ. gofakeit's global source is never seeded here
// (the mock may run inside a user's test process, idvmocktest).
func fakeRepeats(name string, params []string) bool {
	key := name + "\x00" + strings.Join(params, "\x00")
	if ok, done := repeats.Get(key); done {
		return ok
	}
	ok := true
	for seed := int64(1); seed <= 16 && ok; seed++ {
		a, _ := FakeValue(rand.New(rand.NewSource(seed)), name, params)
		b, _ := FakeValue(rand.New(rand.NewSource(seed)), name, params)
		ok = a == b
	}
	repeats.Put(key, ok, len(key))
	return ok
}
