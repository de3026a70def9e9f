package engine

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image"
	_ "image/jpeg" // image.Decode reads the JPEGs
	"strings"
	"testing"

	"github.com/idvmock/idvmock"
	"github.com/idvmock/idvmock/internal/tmpl"
	"github.com/idvmock/idvmock/scenarios"
)

// decodeImage decodes what an image field of BASE64 holds, failing t if it is not the base64
// of an image.
func decodeImage(t *testing.T, what, b64 string) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("%s is not standard base64: %v (%.40q)", what, err, b64)
	}
	img, format, err := image.Decode(bytes.NewReader(raw))
	if err != nil || format != "jpeg" {
		t.Fatalf("%s does not decode as a JPEG: %s %v", what, format, err)
	}
	return img
}

// The images decode, at their sizes, and stay small.
func TestSessionImagesDecodeAtTheirSizes(t *testing.T) {
	im, err := sessionImages(0, "alice", "455d0b0e17e8", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		w, h int
	}{
		{"face", im.Face, FaceImageWidth, FaceImageHeight},
		{"far", im.FaceFar, FaceImageWidth, FaceImageHeight},
		{"near", im.FaceNear, FaceImageWidth, FaceImageHeight},
		{"document", im.DocFront, CardImageWidth, CardImageHeight},
	} {
		img := decodeImage(t, tc.name, base64Image(tc.b))
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("%s is %dx%d, want %dx%d", tc.name, b.Dx(), b.Dy(), tc.w, tc.h)
		}
		if n := len(base64Image(tc.b)); n > 7<<10 {
			t.Errorf("%s is %d bytes in base64, over 7 KiB", tc.name, n)
		}
	}
	if CardImageWidth <= CardImageHeight || FaceImageWidth >= FaceImageHeight {
		t.Error("the card should be landscape and the face portrait")
	}
}

// The same session gives the same bytes; another seed, user, signatureId or index another
// image.
func TestSessionImagesAreDeterministicPerSession(t *testing.T) {
	type key struct {
		seed     int64
		user     string
		sig      string
		index    int
		wantSame bool
	}
	base := key{7, "alice", "455d0b0e17e8", 2, true}
	first, err := sessionImages(base.seed, base.user, base.sig, base.index)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []key{base, {8, "alice", "455d0b0e17e8", 2, false}, {7, "bob", "455d0b0e17e8", 2, false},
		{7, "alice", "de60a405cbda", 2, false}, {7, "alice", "455d0b0e17e8", 3, false}} {
		got, err := sessionImages(k.seed, k.user, k.sig, k.index)
		if err != nil {
			t.Fatal(err)
		}
		for name, pair := range map[string][2][]byte{"face": {first.Face, got.Face}, "far": {first.FaceFar, got.FaceFar},
			"near": {first.FaceNear, got.FaceNear}, "document": {first.DocFront, got.DocFront}} {
			if same := bytes.Equal(pair[0], pair[1]); same != k.wantSame {
				t.Errorf("%s of %+v: the same bytes as %+v: %v", name, k, base, same)
			}
		}
	}
	if bytes.Equal(first.Face, first.FaceFar) || bytes.Equal(first.Face, first.FaceNear) {
		t.Error("the three face captures should differ in framing")
	}
}

// faceFar shows the face small in its frame, faceImageNear large: the skin covers more of the
// frame from far to near.
func TestFaceFramings(t *testing.T) {
	for _, user := range []string{"alice", "bob", "carol", "dave"} {
		p := newPortrait(faker(0, user, "image x", 0))
		im, err := sessionImages(0, user, "x", 0)
		if err != nil {
			t.Fatal(err)
		}
		var shares []float64
		for _, b := range [][]byte{im.FaceFar, im.Face, im.FaceNear} {
			shares = append(shares, colourShare(decodeImage(t, user, base64Image(b)), p.skin))
		}
		if !(shares[0] < shares[1] && shares[1] < shares[2]) || shares[0] < 0.03 {
			t.Errorf("%s: the skin's share of far, normal and near frames is %.3f, want it growing from at least 0.03", user, shares)
		}
	}
}

// colourShare is the share of img's pixels near c (JPEG moves colours a little).
func colourShare(img image.Image, c interface{ RGBA() (r, g, b, a uint32) }) float64 {
	cr, cg, cb, _ := c.RGBA()
	near, all := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			d := absDiff(r, cr) + absDiff(g, cg) + absDiff(bl, cb)
			if d < 3*20*257 {
				near++
			}
			all++
		}
	}
	return float64(near) / float64(all)
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// BASE64 changes the image fields and nothing else: the face captures and docDetail.frontImage
// hold images, auditImageUrl stays a URL, every other field is the URL answer's; sessions
// without a verdict or INCOMPLETE have no images; overrides and verbatim results win.
func TestBuildResultBase64(t *testing.T) {
	data := tmpl.Data{UserID: "alice", Region: "sg", Country: "SGP"}
	pass := Session{SignatureID: "455d0b0e17e8", SolutionCode: "101", State: scenarios.StateFinished, Verdict: idvmock.VerdictPass, BizID: "b1", CreatedAt: sessionEpoch}
	build := func(s Session, imageType string) map[string]any {
		t.Helper()
		raw, err := buildResultAs(0, 0, s, data, imageType)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if p := checkResult(raw, data.UserID); p != nil {
			t.Errorf("%s answer: %v", imageType, p)
		}
		return out
	}
	urls, b64 := build(pass, idvmock.ImageTypeURL), build(pass, idvmock.ImageTypeBase64)
	if again := build(pass, idvmock.ImageTypeBase64); !jsonEqual(again, b64) {
		t.Error("two BASE64 builds of the same session differ")
	}
	face, urlFace := b64["faceDetail"].(map[string]any), urls["faceDetail"].(map[string]any)
	doc, urlDoc := b64["docDetail"].(map[string]any), urls["docDetail"].(map[string]any)
	folder := strings.TrimSuffix(urlFace["faceImage"].(string), "/face.jpg")
	if !strings.HasPrefix(folder, "https://files.idvmock.invalid/455d0b0e17e8/") || urlDoc["frontImage"] != folder+"/doc-front.jpg" {
		t.Errorf("URL mode: faceImage %v, docDetail.frontImage %v", urlFace["faceImage"], urlDoc["frontImage"])
	}
	for field, size := range map[string]image.Point{"faceImage": {FaceImageWidth, FaceImageHeight}, "faceImageFar": {FaceImageWidth, FaceImageHeight}, "faceImageNear": {FaceImageWidth, FaceImageHeight}} {
		if b := decodeImage(t, field, face[field].(string)).Bounds(); b.Size() != size {
			t.Errorf("%s is %v", field, b.Size())
		}
		delete(face, field)
		delete(urlFace, field)
	}
	if b := decodeImage(t, "frontImage", doc["frontImage"].(string)).Bounds(); b.Size() != image.Pt(CardImageWidth, CardImageHeight) {
		t.Errorf("frontImage is %v", b.Size())
	}
	delete(doc, "frontImage")
	delete(urlDoc, "frontImage")
	if face["auditImageUrl"] != folder+"/audit.jpg" || face["silentImage"] != nil {
		t.Errorf("auditImageUrl %v, silentImage %v", face["auditImageUrl"], face["silentImage"])
	}
	if !jsonEqual(urls, b64) {
		t.Errorf("BASE64 changed more than the images:\n URL    %v\n BASE64 %v", urls, b64)
	}

	for name, s := range map[string]Session{
		"in progress": {SignatureID: "a1", State: scenarios.StateInProgress},
		"submitted":   {SignatureID: "a2", State: scenarios.StateSubmitted},
		"incomplete":  {SignatureID: "a3", State: scenarios.StateFinished, Verdict: idvmock.VerdictIncomplete},
		"verbatim": {SignatureID: "a4", Verbatim: true, Result: map[string]any{"signatureId": "a4", "overallResult": nil, "idvResult": nil,
			"errorCode": nil, "errorCodes": []any{}, "faceDetail": map[string]any{"faceResult": nil}, "docDetail": nil,
			"inputParameters": map[string]any{"bizId": "b", "userId": "alice", "region": "SGP"}, "countryCodeIso3": "SGP"}},
	} {
		if u, b := build(s, idvmock.ImageTypeURL), build(s, idvmock.ImageTypeBase64); !jsonEqual(u, b) {
			t.Errorf("%s: BASE64 differs from URL though there are no images:\n%v\n%v", name, u, b)
		}
	}

	pinned := pass
	pinned.Result = map[string]any{"faceDetail": map[string]any{"faceImageNear": "https://cdn.example/near.jpg"}, "docDetail": map[string]any{"frontImage": nil}}
	got := build(pinned, idvmock.ImageTypeBase64)
	gotFace := got["faceDetail"].(map[string]any)
	if gotFace["faceImageNear"] != "https://cdn.example/near.jpg" || got["docDetail"].(map[string]any)["frontImage"] != nil {
		t.Errorf("the scenario's result: lost to BASE64: faceImageNear %.40v, frontImage %.40v", gotFace["faceImageNear"], got["docDetail"].(map[string]any)["frontImage"])
	}
	decodeImage(t, "faceImage beside an override", gotFace["faceImage"].(string))
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// Through Handle: a started session passed answers images in BASE64 and URLs otherwise; Get
// Latest Session Result always answers URLs; a returnImageType the HTTP side would refuse is
// refused here too.
func TestHandleGetResultImageTypes(t *testing.T) {
	e, _ := newTestEngine(t)
	s := start(t, e, StartRequest{UserID: "pic", Region: "PHL"})
	sig := s.Session.SignatureID
	get := func(imageType string) Reply {
		return e.Handle(t.Context(), Request{Operation: idvmock.OpGetResult, SignatureID: sig, Region: "ph", Country: "PHL", ImageType: imageType})
	}
	if r := get(idvmock.ImageTypeBase64); r.Code != idvmock.CodeSuccess || strings.Contains(string(r.Data.(json.RawMessage)), `"faceImage":"`) {
		t.Errorf("in progress, BASE64: %s %s", r.Code, r.Data)
	}
	if _, err := e.Complete(t.Context(), sig, Completion{OverallResult: idvmock.VerdictPass}); err != nil {
		t.Fatal(err)
	}
	field := func(r Reply, name string) string {
		t.Helper()
		var res idvmock.Result
		if r.Code != idvmock.CodeSuccess || json.Unmarshal(r.Data.(json.RawMessage), &res) != nil || res.FaceDetail.FaceCapture == nil {
			t.Fatalf("%s %s %s", r.Code, r.Message, r.Data)
		}
		return map[string]string{"faceImage": *res.FaceDetail.FaceImage, "frontImage": res.DocDetail.FrontImage}[name]
	}
	for _, imageType := range []string{"", idvmock.ImageTypeURL} {
		if got := field(get(imageType), "faceImage"); !strings.HasPrefix(got, "https://files.idvmock.invalid/"+sig+"/") {
			t.Errorf("returnImageType %q: faceImage %.60s", imageType, got)
		}
	}
	b64 := get(idvmock.ImageTypeBase64)
	decodeImage(t, "faceImage", field(b64, "faceImage"))
	decodeImage(t, "frontImage", field(b64, "frontImage"))
	latest := e.Handle(t.Context(), Request{Operation: idvmock.OpGetLatest, UserID: "pic", Region: "ph", Country: "PHL", ImageType: idvmock.ImageTypeBase64})
	if body, _ := json.Marshal(latest.Data); latest.Code != idvmock.CodeSuccess || !strings.Contains(string(body), `"faceImage":"https://files.idvmock.invalid/`) {
		t.Errorf("Get Latest Session Result: %s %s", latest.Code, body)
	}
	if r := get("PNG"); r.Status != 200 || r.Code != idvmock.CodeParameterError || r.Message != `returnImageType must be "URL" or "BASE64", not "PNG".` {
		t.Errorf("returnImageType PNG: %d %s %s", r.Status, r.Code, r.Message)
	}
}
