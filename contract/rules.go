package contract

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"

	"github.com/idvmock/idvmock"
)

// The checker's rules, applied to one exchange in turn: the content type, a JSON body, the
// HTTP status, the schema (schema.go), then the envelope and the data of a success.

// checkDecoded checks an exchange whose body is already decoded: env, or err when the body is
// not one JSON object. The proxy decodes an answer once for the checker and the recorder.
func (c *Checker) checkDecoded(ex Exchange, env map[string]any, err error) []Violation {
	found := c.findRoute(ex.Request)
	if found.op == "" {
		return nil
	}
	return c.checkRouted(ex, found, env, err)
}

// checkRouted is checkDecoded for an exchange whose route is found: one of the vendor's.
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
	here := clip(ex.Request.Method+" "+ex.Request.URL.RequestURI(), 120)
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, seen := c.ids[id]; seen {
		return []Violation{violation(RuleTransactionIDUnique, "/transactionId", "an id no earlier answer of the run had", fmt.Sprintf("%q, already the id of the answer to %s", id, first))}
	}
	if len(c.ids) >= maxTransactionIDs {
		clear(c.ids)
	}
	c.ids[id] = here
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
