package engine

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	imgdraw "image/draw"
	"image/jpeg"
	"sync"

	"github.com/brianvoe/gofakeit/v6"

	"github.com/idvmock/idvmock/internal/bounded"
)

// Get Result with returnImageType BASE64 carries images, not URLs: small placeholders drawn
// here from seeded fake data, so that an app can decode and show them and the same session
// always gives the same bytes. They are placeholders, not photos: a face-like figure for the
// face captures, a card-like figure for the document.

// Sizes of the generated images, in pixels: a portrait frame for the face captures, an
// ID-1 card's proportions (85.60 x 53.98 mm) for the document.
const (
	FaceImageWidth, FaceImageHeight = 96, 120
	CardImageWidth, CardImageHeight = 171, 108
)

// jpegQuality keeps the images small: a face under 2.5 KiB, a card under 5 KiB (under 3.3
// and 6.5 KiB in base64), and still clean, as they are flat shapes.
const jpegQuality = 65

// Framings of the face captures: the share of the frame's height the head takes.
const (
	frameFar    = 0.34 // faceImageFar: the face small in the frame
	frameNormal = 0.48 // faceImage
	frameNear   = 0.66 // faceImageNear: the face large in the frame
)

// SessionImages are the images of one session, as JPEG bytes.
type SessionImages struct {
	Face, FaceFar, FaceNear []byte
	DocFront                []byte
}

// sessionImages draws the images of a session: one person, seen at three distances and on
// its document. They depend on the seed, the userId, the signatureId and the index the
// session's fake data is drawn for, and on nothing else.
func sessionImages(seed int64, userID, signatureID string, index int) (SessionImages, error) {
	f := faker(seed, userID, "image "+signatureID, index)
	defer release(f)
	p := newPortrait(f)
	card := newCardStyle(f)
	var out SessionImages
	var err error
	for _, img := range []struct {
		dst  *[]byte
		draw func() *image.RGBA
	}{ // drawn one after the other, so the three frames take turns on one canvas
		{&out.Face, func() *image.RGBA { return p.frame(frameNormal) }},
		{&out.FaceFar, func() *image.RGBA { return p.frame(frameFar) }},
		{&out.FaceNear, func() *image.RGBA { return p.frame(frameNear) }},
		{&out.DocFront, func() *image.RGBA { return card.draw(p) }},
	} {
		rgb := img.draw()
		*img.dst, err = encodeJPEG(rgb)
		releaseCanvas(rgb)
		if err != nil {
			return SessionImages{}, err
		}
	}
	return out, nil
}

func encodeJPEG(img image.Image) ([]byte, error) {
	var buf jpegBuffer
	buf.Grow(4 << 10)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jpegBuffer is a bytes.Buffer the JPEG encoder writes to directly: with a Flush it does not
// put a 4 KiB bufio.Writer of its own in front.
type jpegBuffer struct{ bytes.Buffer }

func (*jpegBuffer) Flush() error { return nil }

// canvases keeps the images drawn for the last sessions, by size, for the next ones: each
// is encoded, then given back (release) and cleared before it is drawn on again.
var canvases sync.Map // image.Point → *sync.Pool of *image.RGBA

// canvas is a blank (all zero) image of that size.
func canvas(width, height int) *image.RGBA {
	size := image.Pt(width, height)
	if pool, ok := canvases.Load(size); ok {
		if img, ok := pool.(*sync.Pool).Get().(*image.RGBA); ok {
			clear(img.Pix)
			return img
		}
	}
	return image.NewRGBA(image.Rectangle{Max: size})
}

// releaseCanvas gives back an image from canvas once nothing reads it any more.
func releaseCanvas(img *image.RGBA) {
	pool, _ := canvases.LoadOrStore(img.Rect.Size(), &sync.Pool{})
	pool.(*sync.Pool).Put(img)
}

// base64Image is an image as the BASE64 returnImageType sends it: standard encoding, padded.
func base64Image(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// sessionImages64 are a session's images in base64, as the BASE64 answer carries them.
type sessionImages64 struct{ face, faceFar, faceNear, docFront string }

// imageKey is everything a session's images depend on.
type imageKey struct {
	seed              int64
	userID, signature string
	index             int
}

// Bounds of the image cache: encoding a session's four JPEGs costs about a millisecond and a
// half, and an app that asks BASE64 asks for the same sessions again; an entry is about 16 KiB.
const (
	maxCachedImages      = 512
	maxCachedImagesBytes = 8 << 20
)

// imageCache keeps the base64 images of the sessions asked last. They are a pure function of
// their key, so it is shared by every engine and never needs clearing.
var imageCache = bounded.NewCache[imageKey, sessionImages64](maxCachedImages, maxCachedImagesBytes)

// cachedSessionImages is sessionImages in base64, from the cache when it has them.
func cachedSessionImages(seed int64, userID, signatureID string, index int) (sessionImages64, error) {
	k := imageKey{seed, userID, signatureID, index}
	if v, ok := imageCache.Get(k); ok {
		return v, nil
	}
	im, err := sessionImages(seed, userID, signatureID, index)
	if err != nil {
		return sessionImages64{}, err
	}
	v := sessionImages64{base64Image(im.Face), base64Image(im.FaceFar), base64Image(im.FaceNear), base64Image(im.DocFront)}
	imageCache.Put(k, v, len(v.face)+len(v.faceFar)+len(v.faceNear)+len(v.docFront)+len(userID)+len(signatureID)+64)
	return v, nil
}

// portrait is how a generated person looks: colours and proportions, drawn once per session.
type portrait struct {
	background, skin, hair, shirt, eye, mouth color.RGBA
	headWidth                                 float64 // the head's width over its height
	hairLength                                float64 // how far the hair comes down the head's sides, 0..1
	eyeGap                                    float64 // between the eyes, over the head's width
	eyeHeight                                 float64 // the eyes' line, down from the head's centre, over its height
	mouthWidth                                float64 // over the head's width
}

// Palettes the portraits draw from (skin and hair tones people have; other colours free).
var (
	skinTones = []color.RGBA{{255, 224, 196, 255}, {241, 194, 160, 255}, {224, 172, 132, 255}, {198, 134, 90, 255}, {161, 102, 66, 255}, {110, 70, 45, 255}}
	hairTones = []color.RGBA{{20, 16, 14, 255}, {60, 40, 28, 255}, {110, 74, 44, 255}, {170, 130, 80, 255}, {200, 180, 140, 255}, {140, 140, 140, 255}}
)

func newPortrait(f *gofakeit.Faker) portrait {
	return portrait{
		background: pastel(f),
		skin:       jitter(f, skinTones[f.IntRange(0, len(skinTones)-1)], 8),
		hair:       jitter(f, hairTones[f.IntRange(0, len(hairTones)-1)], 8),
		shirt:      color.RGBA{uint8(f.IntRange(20, 200)), uint8(f.IntRange(20, 200)), uint8(f.IntRange(20, 200)), 255},
		eye:        color.RGBA{uint8(f.IntRange(20, 70)), uint8(f.IntRange(20, 60)), uint8(f.IntRange(20, 50)), 255},
		mouth:      color.RGBA{uint8(f.IntRange(150, 200)), uint8(f.IntRange(60, 90)), uint8(f.IntRange(60, 90)), 255},
		headWidth:  f.Float64Range(0.70, 0.82),
		hairLength: f.Float64Range(0.1, 0.75),
		eyeGap:     f.Float64Range(0.34, 0.42),
		eyeHeight:  f.Float64Range(-0.08, 0.0),
		mouthWidth: f.Float64Range(0.28, 0.40),
	}
}

// frame is the face capture of p with the head taking share of the frame's height.
func (p portrait) frame(share float64) *image.RGBA {
	img := canvas(FaceImageWidth, FaceImageHeight)
	p.drawIn(img, img.Bounds(), share)
	return img
}

// drawIn draws p into r of img, the head taking share of r's height, centred a little above
// r's middle, the shoulders below it (clipped to r).
func (p portrait) drawIn(img *image.RGBA, r image.Rectangle, share float64) {
	fill(img, r, p.background)
	h := float64(r.Dy()) * share
	w := h * p.headWidth
	cx := float64(r.Min.X) + float64(r.Dx())/2
	cy := float64(r.Min.Y) + float64(r.Dy())*0.46
	// shoulders and neck
	ellipse(img, r, cx, cy+h*1.45, w*1.3, h*0.9, p.shirt)
	fill(img, r.Intersect(image.Rect(int(cx-w*0.18), int(cy), int(cx+w*0.18), int(cy+h*0.62))), p.skin)
	// hair behind the head, the head, the hair on top
	ellipse(img, r, cx, cy-h*0.1, w*0.56, h*(0.42+p.hairLength*0.15), p.hair)
	ellipse(img, r, cx, cy, w/2, h/2, p.skin)
	ellipse(img, r, cx, cy-h*0.34, w*0.5, h*0.2, p.hair)
	// eyes, brows, mouth
	ey := cy + h*p.eyeHeight
	for _, side := range []float64{-1, 1} {
		ex := cx + side*w*p.eyeGap/2
		ellipse(img, r, ex, ey, w*0.09, h*0.04, color.RGBA{245, 245, 240, 255})
		ellipse(img, r, ex, ey, w*0.045, h*0.035, p.eye)
		fill(img, r.Intersect(image.Rect(int(ex-w*0.1), int(ey-h*0.1), int(ex+w*0.1), int(ey-h*0.075)+1)), p.hair)
	}
	ellipse(img, r, cx, cy+h*0.24, w*p.mouthWidth/2, h*0.035, p.mouth)
}

// cardStyle is how a generated identity card looks.
type cardStyle struct {
	body, stripe, text color.RGBA
	lines              []float64 // the widths of the text-like bars, over the room for them
}

func newCardStyle(f *gofakeit.Faker) cardStyle {
	c := cardStyle{
		body:   pastel(f),
		stripe: color.RGBA{uint8(f.IntRange(0, 160)), uint8(f.IntRange(0, 160)), uint8(f.IntRange(60, 200)), 255},
		text:   color.RGBA{uint8(f.IntRange(30, 70)), uint8(f.IntRange(30, 70)), uint8(f.IntRange(30, 70)), 255},
	}
	for range 5 {
		c.lines = append(c.lines, f.Float64Range(0.35, 1))
	}
	return c
}

// draw is the front of a card of style c with p's photo: a rounded card on a grey ground, a
// coloured stripe across its top, the photo box on the left, text-like bars on the right and
// a machine-readable-zone-like band at the bottom.
func (c cardStyle) draw(p portrait) *image.RGBA {
	img := canvas(CardImageWidth, CardImageHeight)
	fill(img, img.Bounds(), color.RGBA{200, 200, 200, 255})
	card := image.Rect(3, 3, CardImageWidth-3, CardImageHeight-3)
	roundedRect(img, card, 8, c.body)
	stripe := image.Rect(card.Min.X, card.Min.Y+8, card.Max.X, card.Min.Y+20)
	fill(img, stripe, c.stripe)
	photo := image.Rect(card.Min.X+8, stripe.Max.Y+6, card.Min.X+8+44, stripe.Max.Y+6+56)
	fill(img, photo.Inset(-1), c.text)
	p.drawIn(img, photo, 0.55)
	room := card.Max.X - 10 - (photo.Max.X + 8)
	for i, share := range c.lines {
		y := photo.Min.Y + 2 + i*11
		fill(img, image.Rect(photo.Max.X+8, y, photo.Max.X+8+int(float64(room)*share), y+5), c.text)
	}
	band := image.Rect(card.Min.X+8, card.Max.Y-12, card.Max.X-8, card.Max.Y-6)
	for x := band.Min.X; x+6 <= band.Max.X; x += 8 {
		fill(img, image.Rect(x, band.Min.Y, x+6, band.Max.Y), c.text)
	}
	return img
}

// pastel is a light colour for backgrounds.
func pastel(f *gofakeit.Faker) color.RGBA {
	return color.RGBA{uint8(f.IntRange(170, 245)), uint8(f.IntRange(170, 245)), uint8(f.IntRange(170, 245)), 255}
}

// jitter moves each channel of c by up to d.
func jitter(f *gofakeit.Faker, c color.RGBA, d int) color.RGBA {
	move := func(v uint8) uint8 { return uint8(min(255, max(0, int(v)+f.IntRange(-d, d)))) }
	return color.RGBA{move(c.R), move(c.G), move(c.B), 255}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	imgdraw.Draw(img, r, image.NewUniform(c), image.Point{}, imgdraw.Src)
}

// ellipse fills the ellipse of centre (cx, cy) and radii rx, ry, clipped to clip.
func ellipse(img *image.RGBA, clip image.Rectangle, cx, cy, rx, ry float64, c color.RGBA) {
	if rx <= 0 || ry <= 0 {
		return
	}
	box := clip.Intersect(image.Rect(int(cx-rx), int(cy-ry), int(cx+rx)+1, int(cy+ry)+1))
	for y := box.Min.Y; y < box.Max.Y; y++ {
		dy := (float64(y) + 0.5 - cy) / ry
		for x := box.Min.X; x < box.Max.X; x++ {
			dx := (float64(x) + 0.5 - cx) / rx
			if dx*dx+dy*dy <= 1 {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

// roundedRect fills r with corners of radius rad.
func roundedRect(img *image.RGBA, r image.Rectangle, rad int, c color.RGBA) {
	fill(img, image.Rect(r.Min.X+rad, r.Min.Y, r.Max.X-rad, r.Max.Y), c)
	fill(img, image.Rect(r.Min.X, r.Min.Y+rad, r.Max.X, r.Max.Y-rad), c)
	fr := float64(rad)
	for _, corner := range []image.Point{{r.Min.X + rad, r.Min.Y + rad}, {r.Max.X - rad, r.Min.Y + rad}, {r.Min.X + rad, r.Max.Y - rad}, {r.Max.X - rad, r.Max.Y - rad}} {
		ellipse(img, r, float64(corner.X), float64(corner.Y), fr, fr, c)
	}
}
