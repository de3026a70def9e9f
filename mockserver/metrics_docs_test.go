package mockserver

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// The README's table of metrics names every metric the endpoint exposes, with its type and
// labels, and nothing else.
func TestREADMEListsEveryMetric(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## Metrics\n")
	if !ok {
		t.Fatal("README.md has no ## Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	type row struct{ kind, labels string }
	documented := map[string]row{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `idvmock_") {
			continue
		}
		cells := strings.Split(line, "|") // "", name, type, labels, meaning...
		if len(cells) < 5 {
			t.Fatalf("README: a metric row with fewer than 4 cells: %s", line)
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		var labels []string
		for _, l := range strings.Split(cells[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" && l != "—" {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		documented[name] = row{strings.TrimSpace(cells[2]), strings.Join(labels, ",")}
	}

	s := newTestServer(t, Config{Engine: newEngine(t, 0, "qa.yaml")})
	c := latestCall("userId=user_active", "")
	c.header["X-Fault"] = "server_error" // a request and a fault: every vector has a series
	serve(t, s, c)
	exposed := map[string]row{}
	for name, f := range scrape(t, s, newSpecChecker(t), "") {
		if !strings.HasPrefix(name, "idvmock_") {
			continue
		}
		var labels []string
		if ms := f.GetMetric(); len(ms) > 0 {
			for _, l := range ms[0].GetLabel() {
				labels = append(labels, l.GetName())
			}
		}
		slices.Sort(labels)
		exposed[name] = row{strings.ToLower(f.GetType().String()), strings.Join(labels, ",")}
	}
	for name, r := range exposed {
		if d, ok := documented[name]; !ok {
			t.Errorf("README's metrics table lacks %s (%s; labels %s)", name, r.kind, r.labels)
		} else if d != r {
			t.Errorf("README documents %s as %s with labels %q; the endpoint exposes a %s with labels %q", name, d.kind, d.labels, r.kind, r.labels)
		}
	}
	for name := range documented {
		if _, ok := exposed[name]; !ok {
			t.Errorf("README documents %s, which the endpoint does not expose", name)
		}
	}
}
