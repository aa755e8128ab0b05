// Command logogen draws the app icons of the packages in infra/apps (`go generate
// ./infra/apps`): a speech bubble on a coloured square, one colour per app, as
// assets/logo.png (320x320) and assets/logo-small.png (128x128: the bubble alone in the
// app's colour on a transparent ground, as Zendesk's guide asks of the small icon). An app in several products
// gets the same icons in assets/<product>/ too, where Zendesk looks for them. The
// output is deterministic, so re-running it changes nothing unless this file changed.
package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
)

// icon is one app's icon set.
type icon struct {
	pkg      string // folder under infra/apps
	colour   color.NRGBA
	products []string // products of a multi-product app, each with its own copy
}

var icons = []icon{
	{pkg: "sell-app-in-chat", colour: color.NRGBA{R: 0x1f, G: 0x73, B: 0xb7, A: 0xff}, products: []string{"chat", "support"}},
	{pkg: "chat-app-in-sell", colour: color.NRGBA{R: 0x03, G: 0x36, B: 0x3d, A: 0xff}},
}

func main() {
	for _, ic := range icons {
		if err := write(ic); err != nil {
			fmt.Fprintln(os.Stderr, "logogen:", err)
			os.Exit(1)
		}
	}
}

func write(ic icon) error {
	dirs := []string{filepath.Join(ic.pkg, "assets")}
	for _, p := range ic.products {
		dirs = append(dirs, filepath.Join(ic.pkg, "assets", p))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		if err := save(filepath.Join(dir, "logo.png"), draw(320, ic.colour, true)); err != nil {
			return err
		}
		if err := save(filepath.Join(dir, "logo-small.png"), draw(128, ic.colour, false)); err != nil {
			return err
		}
	}
	return nil
}

func save(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return f.Close()
}

// samples is the supersampling grid per pixel side, for smooth edges.
const samples = 4

// draw paints the icon at size x size: on a square of the colour, a white bubble with
// a tail holding three dots of the colour; without the square, the bubble in the colour
// with white dots on a transparent ground.
func draw(size int, colour color.NRGBA, square bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			img.SetNRGBA(x, y, pixel(float64(x), float64(y), float64(size), colour, square))
		}
	}
	return img
}

// pixel averages the shape over the pixel's subsamples.
func pixel(x, y, size float64, colour color.NRGBA, square bool) color.NRGBA {
	var r, g, b, a float64
	for sy := range samples {
		for sx := range samples {
			u := (x + (float64(sx)+0.5)/samples) / size
			v := (y + (float64(sy)+0.5)/samples) / size
			c := shade(u, v, colour, square)
			alpha := float64(c.A) / 255
			r += float64(c.R) * alpha
			g += float64(c.G) * alpha
			b += float64(c.B) * alpha
			a += alpha
		}
	}
	n := float64(samples * samples)
	if a == 0 {
		return color.NRGBA{}
	}
	return color.NRGBA{R: uint8(r / a), G: uint8(g / a), B: uint8(b / a), A: uint8(a / n * 255)}
}

// shade is the colour at (u, v) in the unit square.
func shade(u, v float64, colour color.NRGBA, square bool) color.NRGBA {
	white := color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	ground, bubble, dots := color.NRGBA{}, colour, white
	if square {
		ground, bubble, dots = colour, white, colour
	}
	switch {
	case inBubble(u, v) && inDot(u, v):
		return dots
	case inBubble(u, v):
		return bubble
	}
	return ground
}

// inBubble is an ellipse with a tail at its lower left.
func inBubble(u, v float64) bool {
	du, dv := (u-0.5)/0.36, (v-0.46)/0.28
	if du*du+dv*dv <= 1 {
		return true
	}
	// The tail: a triangle from under the ellipse down to the lower left.
	return inTriangle(u, v, [2]float64{0.28, 0.62}, [2]float64{0.44, 0.70}, [2]float64{0.22, 0.84})
}

func inDot(u, v float64) bool {
	for _, cx := range []float64{0.36, 0.5, 0.64} {
		du, dv := u-cx, v-0.46
		if du*du+dv*dv <= 0.045*0.045 {
			return true
		}
	}
	return false
}

func inTriangle(u, v float64, a, b, c [2]float64) bool {
	side := func(p, q [2]float64) float64 { return (q[0]-p[0])*(v-p[1]) - (q[1]-p[1])*(u-p[0]) }
	d1, d2, d3 := side(a, b), side(b, c), side(c, a)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}
