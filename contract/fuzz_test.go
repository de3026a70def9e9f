package contract

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Any answer body and content type: the checker never panics, and every violation names a
// known rule and says what was expected and what came.
func FuzzCheck(f *testing.F) {
	files, _ := filepath.Glob("../testdata/vendor/*.json")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data, "application/json", 200)
		}
	}
	for _, seed := range []string{"", "{", "[]", "null", `{"code":1}`, `{"code":"SUCCESS","data":{"result":[]}}`,
		`{"code":"SUCCESS","data":{"profileStatus":"INIT","result":{"overallResult":"PASS","inputParameters":7}}}`, "<html></html>"} {
		f.Add([]byte(seed), "application/json", 200)
	}
	f.Add([]byte("<html>502</html>"), "text/html", 502)
	c, err := NewChecker()
	if err != nil {
		f.Fatal(err)
	}
	known := map[string]bool{}
	for _, r := range Rules {
		known[r.ID] = true
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string, status int) {
		req, _ := http.NewRequest(http.MethodGet, LatestURL+"?userId=u", nil)
		for _, v := range c.Check(Exchange{Request: req, Status: status, Header: http.Header{"Content-Type": {contentType}}, Body: body}) {
			if !known[v.Rule] || v.Expected == "" || v.Got == "" {
				t.Fatalf("a violation without a known rule, expected or got: %+v", v)
			}
		}
	})
}

// Any file given to validate: reading it never panics, and what it reads can be checked.
func FuzzReadExchanges(f *testing.F) {
	for _, glob := range []string{"testdata/bad/*.json", "testdata/good/*.json", "../cmd/idvmock/testdata/*.har"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"::"},"response":{"status":200}}]}}`))
	f.Add([]byte(`{"log":{"entries":[{"response":{"content":{"encoding":"base64","text":"!!"}}}]}}`))
	c, err := NewChecker()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadExchanges("fuzz.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("an error that does not name the file: %v", err)
			}
			return
		}
		for _, r := range recs {
			if r.Request == nil {
				t.Fatalf("%s: no request", r.Label)
			}
			c.Operation(r.Request)
			c.Check(r.Exchange)
		}
	})
}
