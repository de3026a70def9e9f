package mockserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	_ "image/jpeg" // image.Decode reads the BASE64 images
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/engine"
)

// vendorHosts are the six hosts the vendor documents for its IDV API.
var vendorHosts = []string{"api.advance.ai", "sg-api.advance.ai", "ph-api.advance.ai", "th-api.advance.ai", "my-api.advance.ai", "vn-api.advance.ai"}

// getResultCall asks Get Result with body on host.
func getResultCall(host, body string) call {
	return call{method: http.MethodPost, target: idvmock.PathGetResult, host: host,
		header: map[string]string{idvmock.TokenHeader: "t", "Content-Type": "application/json"}, body: body}
}

// An unknown signatureId is the vendor's SIGNATURE_NOT_EXIST, word for word, and a
// returnImageType other than URL or BASE64 a PARAMETER_ERROR naming it and the values it may
// take: HTTP 200 on every host, in the spec's envelope.
func TestGetResultRefusals(t *testing.T) {
	s := newTestServer(t, Config{})
	sc := newSpecChecker(t)
	if got := s.regions.Hosts(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(vendorHosts))) {
		t.Errorf("openapi.yaml has the hosts %v, the test %v", got, vendorHosts)
	}
	for _, host := range vendorHosts {
		for _, tc := range []struct {
			name, body    string
			code, message string
		}{
			{"unknown signatureId", `{"signatureId":"0123456789ab"}`, "SIGNATURE_NOT_EXIST", "This signatureId is not exist."},
			{"unknown signatureId in BASE64", `{"signatureId":"nope","returnImageType":"BASE64"}`, "SIGNATURE_NOT_EXIST", "This signatureId is not exist."},
			{"lower case", `{"signatureId":"f6e5d4c3b2a1","returnImageType":"base64"}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not "base64".`},
			{"another format", `{"signatureId":"f6e5d4c3b2a1","returnImageType":"PNG"}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not "PNG".`},
			{"empty", `{"signatureId":"f6e5d4c3b2a1","returnImageType":""}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not "".`},
			{"a number", `{"signatureId":"f6e5d4c3b2a1","returnImageType":1}`, "PARAMETER_ERROR", `returnImageType must be "URL" or "BASE64", not 1.`},
			{"long", `{"signatureId":"f6e5d4c3b2a1","returnImageType":"` + strings.Repeat("X", 500) + `"}`, "PARAMETER_ERROR",
				`returnImageType must be "URL" or "BASE64", not "` + strings.Repeat("X", 39) + `….`},
		} {
			t.Run(host+"/"+tc.name, func(t *testing.T) {
				c := getResultCall(host, tc.body)
				rec := serve(t, s, c)
				sc.check(t, c, rec)
				env := decode(t, rec)
				if rec.Code != http.StatusOK || env.Code != tc.code || env.Message != tc.message || string(env.Data) != "null" {
					t.Errorf("HTTP %d %s %q data %s, want HTTP 200 %s %q data null", rec.Code, env.Code, env.Message, env.Data, tc.code, tc.message)
				}
			})
		}
	}
}

// imageFields are the fields of a Get Result object that carry an image, and its size in
// BASE64.
var imageFields = []struct {
	path []string
	size image.Point
}{
	{[]string{"faceDetail", "faceImage"}, image.Pt(engine.FaceImageWidth, engine.FaceImageHeight)},
	{[]string{"faceDetail", "faceImageFar"}, image.Pt(engine.FaceImageWidth, engine.FaceImageHeight)},
	{[]string{"faceDetail", "faceImageNear"}, image.Pt(engine.FaceImageWidth, engine.FaceImageHeight)},
	{[]string{"docDetail", "frontImage"}, image.Pt(engine.CardImageWidth, engine.CardImageHeight)},
}

// at is the value at path in a decoded JSON object (nil when absent).
func at(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// getResult asks Get Result on host, checks the answer against openapi.yaml and returns its
// data as raw JSON and decoded.
func getResult(t *testing.T, s *Server, sc *specChecker, host, body string) (json.RawMessage, map[string]any) {
	t.Helper()
	c := getResultCall(host, body)
	rec := serve(t, s, c)
	sc.check(t, c, rec)
	env := decode(t, rec)
	if rec.Code != http.StatusOK || env.Code != idvmock.CodeSuccess {
		t.Fatalf("%s on %s: HTTP %d %s %s", body, host, rec.Code, env.Code, env.Message)
	}
	var data map[string]any
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	return env.Data, data
}

// Get Result of finished sessions, one started through Generate URL and passed through the
// admin API, one a scenario declares with a literal signatureId, on every host: URL (given or
// not) answers URLs under the session's folder; BASE64 the base64 of JPEGs of the documented
// sizes, the same bytes for the same request, other images for another session, everything
// else as in URL; auditImageUrl stays a URL.
func TestGetResultImageTypes(t *testing.T) {
	s := newTestServer(t, Config{AdminToken: "s3cret", Engine: newEngine(t, 0, "images.yaml")})
	sc := newSpecChecker(t)
	rec := serve(t, s, generateCall(`{"userId":"snap","bizId":"b","region":"PHL","returnUrl":"https://app.example/ok","failReturnUrl":"https://app.example/ko"}`))
	var g struct{ Data struct{ SignatureID string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil || g.Data.SignatureID == "" {
		t.Fatalf("Generate URL: %s", rec.Body)
	}
	started := g.Data.SignatureID
	admin(t, s, sc, adminCall(http.MethodPost, "/__admin/sessions/"+started+"/complete", `{"overallResult":"PASS"}`), 200)

	faces := map[string]string{} // faceImage in BASE64 -> the session that had it
	for _, host := range vendorHosts {
		for _, sig := range []string{started, "1a2b3c4d5e6f"} {
			t.Run(host+"/"+sig, func(t *testing.T) {
				rawURL, urls := getResult(t, s, sc, host, `{"signatureId":"`+sig+`"}`)
				if again, _ := getResult(t, s, sc, host, `{"signatureId":"`+sig+`","returnImageType":"URL"}`); !bytes.Equal(again, rawURL) {
					t.Errorf("returnImageType URL differs from none:\n%s\n%s", again, rawURL)
				}
				raw64, b64 := getResult(t, s, sc, host, `{"signatureId":"`+sig+`","returnImageType":"BASE64"}`)
				if again, _ := getResult(t, s, sc, host, `{"signatureId":"`+sig+`","returnImageType":"BASE64"}`); !bytes.Equal(again, raw64) {
					t.Error("two BASE64 answers of the same session differ")
				}
				folder := "https://files.idvmock.invalid/" + sig + "/"
				for _, f := range imageFields {
					name := strings.Join(f.path, ".")
					if u, _ := at(urls, f.path...).(string); !strings.HasPrefix(u, folder) || !strings.HasSuffix(u, ".jpg") {
						t.Errorf("URL: %s is %q, want a URL under %s", name, u, folder)
					}
					b, _ := at(b64, f.path...).(string)
					jpg, err := base64.StdEncoding.DecodeString(b)
					if err != nil {
						t.Fatalf("BASE64: %s is not base64: %v (%.40q)", name, err, b)
					}
					img, format, err := image.Decode(bytes.NewReader(jpg))
					if err != nil || format != "jpeg" || img.Bounds().Size() != f.size {
						t.Fatalf("BASE64: %s does not decode to a %v JPEG: %s %v", name, f.size, format, err)
					}
					if len(b) > 8<<10 {
						t.Errorf("BASE64: %s is %d bytes", name, len(b))
					}
					m := b64[f.path[0]].(map[string]any)
					m[f.path[1]] = at(urls, f.path...) // for the comparison below
				}
				if a, _ := at(urls, "faceDetail", "auditImageUrl").(string); !strings.HasPrefix(a, folder) {
					t.Errorf("auditImageUrl %q", a)
				}
				if !reflect.DeepEqual(urls, b64) {
					t.Errorf("BASE64 changed more than the image fields:\n URL    %v\n BASE64 %v", urls, b64)
				}
				face, _ := at(mustObject(t, raw64), "faceDetail", "faceImage").(string)
				if other, seen := faces[face]; seen && other != sig {
					t.Errorf("%s and %s have the same faceImage", sig, other)
				}
				faces[face] = sig
			})
		}
	}
	if len(faces) != 2 {
		t.Errorf("%d different faceImages for 2 sessions on %d hosts, want 2 (the images do not depend on the host)", len(faces), len(vendorHosts))
	}
}

func mustObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// What the scenario says wins over BASE64: a pinned field stays as written, a verbatim result
// is answered as recorded; a session without images (INCOMPLETE) answers the same in both.
// Get Latest Session Result has no returnImageType: it answers URLs, and refuses the
// parameter as unknown.
func TestGetResultImagesFollowTheScenario(t *testing.T) {
	s := newTestServer(t, Config{Engine: newEngine(t, 0, "images.yaml")})
	sc := newSpecChecker(t)
	const host = "sg-api.advance.ai"
	_, pinned := getResult(t, s, sc, host, `{"signatureId":"3c4d5e6f7081","returnImageType":"BASE64"}`)
	if near := at(pinned, "faceDetail", "faceImageNear"); near != "https://cdn.example/near.jpg" {
		t.Errorf("the pinned faceImageNear became %.40v", near)
	}
	if face, _ := at(pinned, "faceDetail", "faceImage").(string); strings.HasPrefix(face, "https://") || len(face) < 1000 {
		t.Errorf("faceImage beside the pinned field is %.60q, want base64", face)
	}
	for _, sig := range []string{"4d5e6f708192", "2b3c4d5e6f70"} {
		rawURL, _ := getResult(t, s, sc, host, `{"signatureId":"`+sig+`"}`)
		raw64, _ := getResult(t, s, sc, host, `{"signatureId":"`+sig+`","returnImageType":"BASE64"}`)
		if !bytes.Equal(rawURL, raw64) {
			t.Errorf("%s: BASE64 differs from URL:\n%s\n%s", sig, raw64, rawURL)
		}
	}
	if face := at(mustObject(t, mustData(t, s, sc, host, "4d5e6f708192")), "faceDetail", "faceImage"); face != "https://cdn.example/recorded.jpg" {
		t.Errorf("the verbatim faceImage became %.40v", face)
	}

	c := latestCall("userId=pictured", host)
	rec := serve(t, s, c)
	sc.check(t, c, rec)
	env := decode(t, rec)
	if !strings.Contains(string(env.Data), `"faceImage":"https://cdn.example/recorded.jpg"`) {
		t.Errorf("Get Latest Session Result: %s", env.Data)
	}
	c = latestCall("userId=user_active&returnImageType=BASE64", host)
	rec = serve(t, s, c)
	sc.check(t, c, rec)
	if env := decode(t, rec); env.Code != idvmock.CodeParameterError || !strings.Contains(env.Message, `"returnImageType"`) {
		t.Errorf("Get Latest Session Result with returnImageType: %s %s", env.Code, env.Message)
	}
}

func mustData(t *testing.T, s *Server, sc *specChecker, host, sig string) json.RawMessage {
	t.Helper()
	raw, _ := getResult(t, s, sc, host, `{"signatureId":"`+sig+`","returnImageType":"BASE64"}`)
	return raw
}
