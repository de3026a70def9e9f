package files

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// yamlBlock is a fenced yaml code block of a Markdown file.
type yamlBlock struct {
	line int // line of the opening fence
	text string
}

func yamlBlocks(t *testing.T, path string) []yamlBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []yamlBlock
	var cur *yamlBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml":
			cur = &yamlBlock{line: n}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s:%d: the yaml block is not closed", path, cur.line)
	}
	return blocks
}

// The YAML examples of the documentation are scenario files; each must pass lint, so the
// documentation cannot drift from the format.
func TestDocumentationExamplesLint(t *testing.T) {
	for _, doc := range []struct {
		path      string
		minBlocks int
	}{
		{"../../docs/scenarios.md", 6},
		{"../../README.md", 3},
	} {
		blocks := slices.DeleteFunc(yamlBlocks(t, doc.path), func(b yamlBlock) bool { return !isScenarioFile(b.text) })
		if len(blocks) < doc.minBlocks {
			t.Errorf("%s: %d yaml examples, want at least %d: were examples removed or their fences changed?", doc.path, len(blocks), doc.minBlocks)
		}
		for _, b := range blocks {
			file := filepath.Join(t.TempDir(), "example.yaml")
			if err := os.WriteFile(file, []byte(b.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := Lint([]string{file}); err != nil {
				t.Errorf("%s:%d: the example does not lint:\n%v", doc.path, b.line, err)
			}
		}
	}
}

// isScenarioFile tells scenario examples from the other YAML of the docs (CI jobs): a
// scenario file has a top-level key of the format.
func isScenarioFile(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		key, _, _ := strings.Cut(line, ":")
		switch key {
		case "users", "rules", "scenarios", "solutionCodes":
			return true
		}
	}
	return false
}
