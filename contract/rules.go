package contract

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/idvmock/idvmock"
)

// The checker's rules, applied to one exchange in turn: the content type, a JSON body, the
// HTTP status, the schema (schema.go), then the envelope and the data of a success.

// checkDecoded checks an exchange whose body is already scanned: t, or err when the body is
// not one JSON object (parseObject); with neither, the body is scanned here if the exchange
// is for one of the vendor's operations. With wantEnv, it also returns the decoded body (nil
// when it is not a JSON object). t is released.
func (c *Checker) checkDecoded(ex Exchange, t *jsonTree, err error, wantEnv bool) ([]Violation, map[string]any) {
	found := c.findRoute(ex.Request)
	if found.op == "" {
		var env map[string]any
		if t != nil {
			if wantEnv {
				env = t.object()
			}
			t.release()
		}
		return nil, env
	}
	if t == nil && err == nil {
		t, err = parseObject(ex.Body)
	}
	return c.checkParsed(ex, found, t, err, wantEnv)
}

// checkParsed checks a routed exchange whose body is scanned (see checkDecoded). An answer
// quickPass finds without a violation is not decoded (unless wantEnv); any other is decoded
// and checked by checkRouted, which says what is wrong.
func (c *Checker) checkParsed(ex Exchange, found *foundRoute, t *jsonTree, err error, wantEnv bool) ([]Violation, map[string]any) {
	if err != nil {
		return c.checkRouted(ex, found, nil, err), nil
	}
	defer t.release()
	if !c.slowOnly && c.quickPass(ex, found, t) {
		if wantEnv {
			return nil, t.object()
		}
		return nil, nil
	}
	env := t.object()
	return c.checkRouted(ex, found, env, nil), env
}

// checkRouted checks an exchange whose route is found, one of the vendor's, and whose body
// is decoded: env, or err when the body is not one JSON object.
func (c *Checker) checkRouted(ex Exchange, found *foundRoute, env map[string]any, err error) []Violation {
	route, params, op := found.route, found.params, found.op
	var out []Violation

	mediaType, _, _ := mime.ParseMediaType(ex.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		v := violation(RuleContentType, "", "Content-Type application/json", quoteOrNothing(ex.Header.Get("Content-Type")))
		v.Where = "header Content-Type"
		out = append(out, v)
	}
	if err != nil {
		v := violation(RuleJSON, "", "a JSON object", describeBody(ex.Body, err))
		v.Where = "body"
		return append(out, v)
	}
	status := c.checkStatus(ex.Status, env)
	out = append(out, status...)
	if mediaType == "application/json" {
		out = append(out, c.schemaViolations(ex, route, params, env, len(status) > 0)...)
	}
	out = append(out, c.checkEnvelope(op, ex, env)...)
	return out
}

// quickPass tells, reading the scanned body without decoding it, that checkRouted would find
// no violation in the exchange, and then does the one thing checkRouted would do besides:
// it remembers the transactionId. It follows checkRouted rule by rule, and answers false
// whenever a rule might not hold, having remembered nothing: checkRouted then checks the
// exchange and says what is wrong. The values it reads are those of the decoded body (of
// a name given twice in an object, the last). It keeps nothing it reads from t, whose
// strings are views of the body (see jsonTree.own): the transactionId it remembers is a copy.
func (c *Checker) quickPass(ex Exchange, found *foundRoute, t *jsonTree) bool {
	// the content type
	ct := ex.Header.Get("Content-Type")
	if ct != "application/json" {
		if mediaType, _, _ := mime.ParseMediaType(ct); mediaType != "application/json" {
			return false
		}
	}
	// checkStatus
	codeAt, hasCode := t.member(0, "code")
	isString := hasCode && t.nodes[codeAt].kind == '"'
	code := ""
	if isString {
		code = t.str(codeAt)
	}
	if ex.Status != http.StatusOK && code != "CLIENT_ERROR" {
		return false
	}
	// schemaViolations
	if validateStatus(ex, found.route, found.params) != nil {
		return false
	}
	if mt, err := responseMediaType(ex, found.route); err != nil {
		return false
	} else if mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
		if m := c.matchers[mt.Schema.Value]; m == nil || m.match(t, 0) != conforms {
			return false
		}
	}
	// checkEnvelope
	op := found.op
	if !isString || (ex.Status == http.StatusOK && !slices.Contains(c.codes[op], code)) {
		return false
	}
	dataAt, hasData := t.member(0, "data")
	dataNull := !hasData || t.nodes[dataAt].kind == 'n'
	if op == OpUpdateStatus || code != "SUCCESS" {
		if !dataNull {
			return false
		}
	} else if dataNull {
		return false
	}
	idAt, ok := t.member(0, "transactionId")
	if !ok || t.nodes[idAt].kind != '"' {
		return false
	}
	id := t.str(idAt)
	if id == "" || utf8.RuneCountInString(id) > 64 {
		return false
	}
	if at, ok := t.member(0, "pricingStrategy"); ok && !t.isString(at, "FREE") {
		return false
	}
	if code == "SUCCESS" && hasData && t.nodes[dataAt].kind == '{' && !c.successDataPasses(op, ex, t, dataAt) {
		return false
	}
	// checkTransactionID's uniqueness, last: the id is remembered only by an answer that passes
	here := requestLine(ex.Request)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.ids[id]; seen {
		return false
	}
	if len(c.ids) >= maxTransactionIDs {
		clear(c.ids)
	}
	c.ids[strings.Clone(id)] = here // not a part of the body, which it would keep
	return true
}

// successDataPasses is quickPass's checkSuccessData: the data object at node dataAt breaks
// none of its rules. The rules that read more than a field or two are given the part of
// the body they read, decoded.
func (c *Checker) successDataPasses(op string, ex Exchange, t *jsonTree, dataAt int) bool {
	switch op {
	case OpGetLatest:
		at, ok := t.member(dataAt, "profileStatus")
		if !ok || t.nodes[at].kind != '"' || !slices.Contains(c.statuses, t.str(at)) {
			return false
		}
		if at, ok := t.member(dataAt, "result"); ok && t.nodes[at].kind == '{' {
			view := viewResult(t, at)
			defer view.release()
			return len(idvmock.CheckResult(view.result, queryValue(ex.Request.URL, "userId"))) == 0
		}
	case OpGetResult:
		data := t.value(dataAt).(map[string]any)
		return len(checkResult("/data", data, "")) == 0 && len(checkResultRequest(ex, data)) == 0
	case OpGetProfile, OpGetProfileCamel:
		return len(checkProfile(t.value(dataAt).(map[string]any))) == 0
	}
	return true
}

// resultFields are the members of a result object that idvmock.CheckResult reads; of
// inputParameters, it reads userId (TestResultViewIsEnoughForCheckResult fails when it reads
// another).
var resultFields = [...]string{"overallResult", "idvResult", "errorCode", "countryCodeIso3", "inputParameters"}

// resultView is, of a result object, what CheckResult reads, decoded: what it finds in it is
// what it would find in the whole object. CheckResult keeps nothing of it, so its maps are
// used again.
type resultView struct{ result, input map[string]any }

var resultViews = sync.Pool{New: func() any {
	return &resultView{result: make(map[string]any, len(resultFields)), input: make(map[string]any, 1)}
}}

// viewResult decodes, of the result object at node i, what CheckResult reads. The view is
// the caller's to release.
func viewResult(t *jsonTree, i int) *resultView {
	v := resultViews.Get().(*resultView)
	for j, k := i+1, 0; k < int(t.nodes[i].n); k++ {
		name := t.str(j)
		switch {
		case name == "inputParameters" && t.nodes[j+1].kind == '{':
			clear(v.input) // a later one replaces it, as in the decoded object
			if at, ok := t.member(j+1, "userId"); ok {
				v.input["userId"] = t.value(at)
			}
			v.result[name] = v.input
		case slices.Contains(resultFields[:], name):
			v.result[name] = t.value(j + 1)
		}
		j = int(t.nodes[j+1].next)
	}
	return v
}

func (v *resultView) release() {
	clear(v.result)
	clear(v.input)
	resultViews.Put(v)
}

// queryValue is u.Query().Get(name), without decoding the rest of the query.
func queryValue(u *url.URL, name string) string {
	q := u.RawQuery
	if strings.Count(q, "&") >= 1000 {
		return u.Query().Get(name) // many parameters: url's limit on them applies
	}
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // url.ParseQuery skips it
		}
		key, value, _ := strings.Cut(pair, "=")
		if key, err := url.QueryUnescape(key); err != nil || key != name {
			continue
		}
		if value, err := url.QueryUnescape(value); err == nil {
			return value // the first
		}
	}
	return ""
}

// requestLine is how a message names the request that first had a transactionId.
func requestLine(req *http.Request) string {
	u := req.URL
	if u.Opaque != "" {
		return clip(req.Method+" "+u.RequestURI(), 120)
	}
	// RequestURI's path and query, in one concatenation
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.ForceQuery || u.RawQuery != "" {
		return clip(req.Method+" "+path+"?"+u.RawQuery, 120)
	}
	return clip(req.Method+" "+path, 120)
}

// checkStatus: business outcomes are HTTP 200; CLIENT_ERROR is the one code that travels
// with an HTTP error status.
func (c *Checker) checkStatus(status int, env map[string]any) []Violation {
	code, _ := env["code"].(string)
	if status == http.StatusOK || code == "CLIENT_ERROR" {
		return nil
	}
	v := violation(RuleHTTPStatus, "", "HTTP 200", fmt.Sprintf("HTTP %d with code %s", status, quoteOrNothing(code)))
	v.Where = "status"
	return []Violation{v}
}

// checkEnvelope checks what every answer of op carries (code, data, transactionId,
// pricingStrategy), then the data of a SUCCESS.
func (c *Checker) checkEnvelope(op string, ex Exchange, env map[string]any) []Violation {
	var out []Violation
	code, isString := env["code"].(string)
	if codes := c.codes[op]; !isString || (ex.Status == http.StatusOK && !slices.Contains(codes, code)) {
		out = append(out, violation(RuleCodeDocumented, "/code", "one of "+jsonText(codes), valueText(env, "code")))
	}
	data, hasData := env["data"]
	switch {
	case op == OpUpdateStatus && hasData && data != nil:
		out = append(out, violation(RuleDataNull, "/data", "null, as Update Status never answers data", valueText(env, "data")))
	case op == OpUpdateStatus:
	case code == "SUCCESS" && (!hasData || data == nil):
		out = append(out, violation(RuleDataNull, "/data", "an object, as code is SUCCESS", valueText(env, "data")))
	case isString && code != "SUCCESS" && hasData && data != nil:
		out = append(out, violation(RuleDataNull, "/data", "null, as code is "+code, valueText(env, "data")))
	}
	out = append(out, c.checkTransactionID(ex, env)...)
	if ps, ok := env["pricingStrategy"]; ok && ps != "FREE" {
		out = append(out, violation(RulePricingStrategy, "/pricingStrategy", `"FREE"`, jsonText(ps)))
	}
	if code != "SUCCESS" {
		return out
	}
	if dataObj, ok := data.(map[string]any); ok {
		out = append(out, c.checkSuccessData(op, ex, dataObj)...)
	}
	return out
}

// checkSuccessData checks the data object of a SUCCESS answer of op: the profile status and
// the result of Get Latest Session Result, the result of Get Result.
func (c *Checker) checkSuccessData(op string, ex Exchange, data map[string]any) []Violation {
	var out []Violation
	switch op {
	case OpGetLatest:
		if ps, ok := data["profileStatus"].(string); !ok || !slices.Contains(c.statuses, ps) {
			out = append(out, violation(RuleProfileStatus, "/data/profileStatus", "one of "+jsonText(c.statuses), valueText(data, "profileStatus")))
		}
		if result, ok := data["result"].(map[string]any); ok {
			out = append(out, checkResult("/data/result", result, ex.Request.URL.Query().Get("userId"))...)
		}
	case OpGetResult:
		out = append(out, checkResult("/data", data, "")...)
		out = append(out, checkResultRequest(ex, data)...)
	case OpGetProfile, OpGetProfileCamel:
		out = append(out, checkProfile(data)...)
	}
	return out
}

// checkProfile checks Get Profile's data: a profile is ACTIVE or INACTIVE (a user still
// INIT has none), with one documentInfos entry per docType.
func checkProfile(data map[string]any) []Violation {
	var out []Violation
	if st, _ := data["status"].(string); st != string(idvmock.ProfileActive) && st != string(idvmock.ProfileInactive) {
		out = append(out, violation(RuleCustomerProfileStatus, "/data/status", `"ACTIVE" or "INACTIVE"`, valueText(data, "status")))
	}
	infos, _ := data["documentInfos"].([]any)
	first := map[string]int{}
	for i, info := range infos {
		obj, _ := info.(map[string]any)
		docType, ok := obj["docType"].(string)
		if !ok {
			continue // the schema says what is wrong with it
		}
		if j, seen := first[docType]; seen {
			out = append(out, violation(RuleDocTypeUnique, pointerOf("data", "documentInfos", strconv.Itoa(i), "docType"),
				"a docType no other entry has", fmt.Sprintf("%q, already the docType of /data/documentInfos/%d", docType, j)))
			continue
		}
		first[docType] = i
	}
	return out
}

// resultImages are the pointers, under a Get Result object, of the image fields that
// returnImageType decides: URLs to download, or the base64 of the image's bytes.
var resultImages = [][]string{
	{"faceDetail", "faceImage"}, {"faceDetail", "faceImageFar"}, {"faceDetail", "faceImageNear"},
	{"faceDetail", "silentImage"}, {"docDetail", "frontImage"},
}

// checkResultRequest checks a Get Result answer against its request, when the request's body
// is known: the answer is about the signatureId asked for, and its images are of the type
// asked for (returnImageType; URL when absent).
func checkResultRequest(ex Exchange, data map[string]any) []Violation {
	var req map[string]any
	if len(ex.RequestBody) == 0 || json.Unmarshal(ex.RequestBody, &req) != nil {
		return nil
	}
	var out []Violation
	if asked, ok := req["signatureId"].(string); ok && asked != "" {
		if got, _ := data["signatureId"].(string); got != asked {
			out = append(out, violation(RuleSignatureEchoed, "/data/signatureId", jsonText(asked)+", the signatureId asked for", valueText(data, "signatureId")))
		}
	}
	imageType, given := req["returnImageType"].(string)
	switch {
	case !given && req["returnImageType"] == nil:
		imageType = idvmock.ImageTypeURL
	case imageType != idvmock.ImageTypeURL && imageType != idvmock.ImageTypeBase64:
		return out // the target should have refused the request; its code says whether it did
	}
	for _, path := range resultImages {
		v, ok := resolve(data, pointerOf(path...))
		s, isString := v.(string)
		if !ok || !isString || s == "" {
			continue
		}
		ptr := pointerOf(append([]string{"data"}, path...)...)
		switch {
		case imageType == idvmock.ImageTypeBase64 && !isBase64(s):
			out = append(out, violation(RuleImageType, ptr, "standard base64 of the image's bytes, as returnImageType is BASE64", describeImage(s)))
		case imageType == idvmock.ImageTypeURL && isBase64(s):
			out = append(out, violation(RuleImageType, ptr, "a URL to download the image, as returnImageType is "+urlTypeWhy(given), describeImage(s)))
		}
	}
	return out
}

func urlTypeWhy(given bool) string {
	if given {
		return "URL"
	}
	return "URL (the default: the request has none)"
}

// describeImage says what an image field holds, without printing a whole image.
func describeImage(s string) string {
	switch {
	case isURL(s):
		return fmt.Sprintf("a URL (%s)", clip(s, 60))
	case isBase64(s):
		b, _ := base64.StdEncoding.DecodeString(s)
		return fmt.Sprintf("base64 of %d bytes (%s)", len(b), clip(s, 24))
	}
	return fmt.Sprintf("%s, neither a URL nor standard base64", jsonText(clip(s, 60)))
}

// checkTransactionID checks the answer's transactionId, and that no earlier answer of the
// run had it.
func (c *Checker) checkTransactionID(ex Exchange, env map[string]any) []Violation {
	id, ok := env["transactionId"].(string)
	if !ok || id == "" || len([]rune(id)) > 64 {
		return []Violation{violation(RuleTransactionID, "/transactionId", "a string of 1 to 64 characters", valueText(env, "transactionId"))}
	}
	here := requestLine(ex.Request)
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, seen := c.ids[id]; seen {
		return []Violation{violation(RuleTransactionIDUnique, "/transactionId", "an id no earlier answer of the run had", fmt.Sprintf("%q, already the id of the answer to %s", id, first))}
	}
	if len(c.ids) >= maxTransactionIDs {
		clear(c.ids)
	}
	c.ids[strings.Clone(id)] = here // not a part of the body, which it would keep
	return nil
}

// checkResult checks a Get Result object at pointer against idvmock.CheckResult's rules;
// userID is the requested userId ("" when the request named none).
func checkResult(pointer string, r map[string]any, userID string) []Violation {
	var out []Violation
	for _, in := range idvmock.CheckResult(r, userID) {
		got := jsonText(in.Got)
		if in.Got == nil {
			got = valueTextAt(r, in.Field)
		}
		out = append(out, violation(in.Rule, pointer+"/"+in.Field, in.Expected, got))
	}
	return out
}
