package contract

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/idvmock/idvmock"
)

// LatestURL is the URL a bare body is taken to answer: Get Latest Session Result on the
// global host, without a userId (so the rule on the echoed userId does not apply).
const LatestURL = "https://api.advance.ai" + idvmock.PathLatest

// Recorded is an exchange read from a file, with where it came from.
type Recorded struct {
	Label string // file, and entry number when the file holds several
	Bare  bool   // a bare body: its request is assumed, not recorded
	Exchange
}

// ReadExchanges reads the exchanges of one file, which holds one of:
//   - a HAR file ({"log": {"entries": [...]}}), as browsers and proxies export them;
//   - an exchange file ({"exchanges": [{"request": {...}, "response": {...}}]}), the format
//     of idvmock's test fixtures;
//   - a bare JSON body, checked as an answer of Get Latest Session Result.
func ReadExchanges(name string, data []byte) ([]Recorded, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object (%v): give a JSON body, a HAR file or an exchange file", name, err)
	}
	switch {
	case probe["log"] != nil:
		return readHAR(name, data)
	case probe["exchanges"] != nil:
		return readExchangeFile(name, data)
	}
	req, _ := http.NewRequest(http.MethodGet, LatestURL, nil)
	return []Recorded{{Label: name, Bare: true, Exchange: Exchange{
		Request: req, Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: data,
	}}}, nil
}

type harFile struct {
	Log struct {
		Entries []struct {
			Request struct {
				Method   string      `json:"method"`
				URL      string      `json:"url"`
				Headers  []harHeader `json:"headers"`
				PostData *struct {
					Text string `json:"text"`
				} `json:"postData"`
			} `json:"request"`
			Response struct {
				Status  int         `json:"status"`
				Headers []harHeader `json:"headers"`
				Content struct {
					MimeType string `json:"mimeType"`
					Text     string `json:"text"`
					Encoding string `json:"encoding"`
				} `json:"content"`
			} `json:"response"`
		} `json:"entries"`
	} `json:"log"`
}

type harHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func harHeaders(hs []harHeader) http.Header {
	h := http.Header{}
	for _, x := range hs {
		if !strings.HasPrefix(x.Name, ":") { // HTTP/2 pseudo-headers
			h.Add(x.Name, x.Value)
		}
	}
	return h
}

func readHAR(name string, data []byte) ([]Recorded, error) {
	var har harFile
	if err := json.Unmarshal(data, &har); err != nil {
		return nil, fmt.Errorf("%s: not a HAR file: %v", name, err)
	}
	var out []Recorded
	for i, e := range har.Log.Entries {
		label := fmt.Sprintf("%s: entry %d", name, i)
		req, err := http.NewRequest(e.Request.Method, e.Request.URL, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: request: %v", label, err)
		}
		req.Header = harHeaders(e.Request.Headers)
		ex := Exchange{Request: req, Status: e.Response.Status, Header: harHeaders(e.Response.Headers), Body: []byte(e.Response.Content.Text)}
		if e.Request.PostData != nil {
			ex.RequestBody = []byte(e.Request.PostData.Text)
		}
		if e.Response.Content.Encoding == "base64" {
			if ex.Body, err = base64.StdEncoding.DecodeString(e.Response.Content.Text); err != nil {
				return nil, fmt.Errorf("%s: response content: not base64: %v", label, err)
			}
		}
		if ex.Header.Get("Content-Type") == "" && e.Response.Content.MimeType != "" {
			ex.Header.Set("Content-Type", e.Response.Content.MimeType)
		}
		out = append(out, Recorded{Label: label, Exchange: ex})
	}
	return out, nil
}

// ExchangeFile is the exchange file format: requests and their answers, bodies as JSON
// values (body) or as raw text (bodyText), for answers that are not JSON.
type ExchangeFile struct {
	About     string         `json:"about,omitempty"`
	Want      []string       `json:"want,omitempty"`     // rule ids the exchanges break (test fixtures)
	Pointers  []string       `json:"pointers,omitempty"` // JSON pointers the violations name, among others (test fixtures)
	Exchanges []FileExchange `json:"exchanges"`
}

// FileExchange is one exchange of an exchange file.
type FileExchange struct {
	Request struct {
		Method   string            `json:"method"`
		URL      string            `json:"url"`
		Headers  map[string]string `json:"headers,omitempty"`
		Body     json.RawMessage   `json:"body,omitempty"`
		BodyText string            `json:"bodyText,omitempty"`
	} `json:"request"`
	Response struct {
		Status   int               `json:"status"`
		Headers  map[string]string `json:"headers,omitempty"`
		Body     json.RawMessage   `json:"body,omitempty"`
		BodyText string            `json:"bodyText,omitempty"`
	} `json:"response"`
}

func decodeExchangeFile(data []byte) (ExchangeFile, error) {
	var f ExchangeFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&f)
	return f, err
}

func readExchangeFile(name string, data []byte) ([]Recorded, error) {
	f, err := decodeExchangeFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not an exchange file: %v", name, err)
	}
	var out []Recorded
	for i, fe := range f.Exchanges {
		label := fmt.Sprintf("%s: exchange %d", name, i)
		method := fe.Request.Method
		if method == "" {
			method = http.MethodGet
		}
		req, err := http.NewRequest(method, fe.Request.URL, nil)
		if err != nil || fe.Request.URL == "" {
			return nil, fmt.Errorf("%s: request.url %q: give the full URL, e.g. %s?userId=u", label, fe.Request.URL, LatestURL)
		}
		for k, v := range fe.Request.Headers {
			req.Header.Set(k, v)
		}
		ex := Exchange{Request: req, Status: fe.Response.Status, Header: http.Header{}, RequestBody: bodyOf(fe.Request.Body, fe.Request.BodyText)}
		if ex.Status == 0 {
			ex.Status = http.StatusOK
		}
		for k, v := range fe.Response.Headers {
			ex.Header.Set(k, v)
		}
		ex.Body = bodyOf(fe.Response.Body, fe.Response.BodyText)
		out = append(out, Recorded{Label: label, Exchange: ex})
	}
	return out, nil
}

func bodyOf(raw json.RawMessage, text string) []byte {
	if len(raw) > 0 {
		return []byte(raw)
	}
	return []byte(text)
}
