package monitor

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The drilldown's three levels as SVG: the model (every feature's drift in
// the newest window, BarChart), one feature (its measure window after
// window, LineChart) and one window (the feature's distribution against
// the baseline, HistogramChart). Bars and points beyond tolerance are red.

// Bar is one bar of BarChart: a value and the limit (goal + tolerance) it
// is held to.
type Bar struct {
	Label    string
	Value    float64
	Limit    float64
	Violated bool
}

// Point is one window's value of a LineChart.
type Point struct {
	Window   int
	Value    float64
	Violated bool
}

const (
	chartW, chartH           = 640, 320
	padL, padR, padT, padB   = 60, 20, 40, 70
	okColor, badColor, limit = "#4878a8", "#c8403a", "#888"
)

type svg struct{ b strings.Builder }

func newSVG(title string) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&s.b, `<text x="%d" y="20" font-size="14">%s</text>`+"\n", padL, html.EscapeString(title))
	return s
}

func (s *svg) text(x, y float64, anchor, t string) {
	fmt.Fprintf(&s.b, `<text x="%.1f" y="%.1f" text-anchor="%s">%s</text>`+"\n", x, y, anchor, html.EscapeString(t))
}

func (s *svg) end() string {
	s.b.WriteString("</svg>\n")
	return s.b.String()
}

// axes draws the y axis from 0 to top and returns the y of a value.
func (s *svg) axes(top float64) func(float64) float64 {
	h := float64(chartH - padT - padB)
	y := func(v float64) float64 { return float64(chartH-padB) - v/top*h }
	fmt.Fprintf(&s.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>`+"\n", padL, padT, padL, chartH-padB)
	fmt.Fprintf(&s.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>`+"\n", padL, chartH-padB, chartW-padR, chartH-padB)
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		s.text(padL-4, y(v)+4, "end", fmtNum(v))
	}
	return y
}

func scaleTop(vs ...float64) float64 {
	top := 0.0
	for _, v := range vs {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			top = math.Max(top, v)
		}
	}
	if top == 0 {
		return 1
	}
	return top * 1.15
}

func color(violated bool) string {
	if violated {
		return badColor
	}
	return okColor
}

// BarChart draws one bar per label with its limit as a dashed mark.
func BarChart(title string, bars []Bar) string {
	s := newSVG(title)
	var vs []float64
	for _, b := range bars {
		vs = append(vs, b.Value, b.Limit)
	}
	y := s.axes(scaleTop(vs...))
	w := float64(chartW-padL-padR) / float64(max(len(bars), 1))
	for i, b := range bars {
		x := float64(padL) + float64(i)*w
		fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
			x+w*0.15, y(b.Value), w*0.7, y(0)-y(b.Value), color(b.Violated), html.EscapeString(fmt.Sprintf("%s: %s (limit %s)", b.Label, fmtNum(b.Value), fmtNum(b.Limit))))
		fmt.Fprintf(&s.b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 2"/>`+"\n", x+w*0.05, y(b.Limit), x+w*0.95, y(b.Limit), limit)
		s.text(x+w/2, float64(chartH-padB)+14, "middle", b.Label)
	}
	return s.end()
}

// LineChart draws a measure window after window with its limit.
func LineChart(title string, points []Point, lim float64) string {
	s := newSVG(title)
	vs := []float64{lim}
	for _, p := range points {
		vs = append(vs, p.Value)
	}
	y := s.axes(scaleTop(vs...))
	w := float64(chartW-padL-padR) / float64(max(len(points), 1))
	fmt.Fprintf(&s.b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="4 2"/>`+"\n", padL, y(lim), chartW-padR, y(lim), limit)
	var path []string
	for i, p := range points {
		x := float64(padL) + (float64(i)+0.5)*w
		path = append(path, fmt.Sprintf("%.1f,%.1f", x, y(p.Value)))
		fmt.Fprintf(&s.b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>window %d: %s</title></circle>`+"\n", x, y(p.Value), color(p.Violated), p.Window, fmtNum(p.Value))
		s.text(x, float64(chartH-padB)+14, "middle", fmt.Sprint(p.Window))
	}
	if len(path) > 1 {
		fmt.Fprintf(&s.b, `<polyline points="%s" fill="none" stroke="%s"/>`+"\n", strings.Join(path, " "), okColor)
	}
	s.text(float64(chartW)/2, float64(chartH-padB)+32, "middle", "window")
	return s.end()
}

// HistogramChart draws a feature's shares bin by bin: the baseline (grey)
// beside the window (blue).
func HistogramChart(title string, b Bins) string {
	s := newSVG(title)
	y := s.axes(scaleTop(append(append([]float64(nil), b.Baseline...), b.Window...)...))
	w := float64(chartW-padL-padR) / float64(max(len(b.Labels), 1))
	for i, l := range b.Labels {
		x := float64(padL) + float64(i)*w
		for j, v := range []float64{b.Baseline[i], b.Window[i]} {
			fill := []string{"#bbb", okColor}[j]
			fmt.Fprintf(&s.b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`+"\n",
				x+w*(0.1+0.4*float64(j)), y(v), w*0.4, y(0)-y(v), fill, []string{"baseline", "window"}[j], html.EscapeString(l), fmtNum(v))
		}
		fmt.Fprintf(&s.b, `<text x="%.1f" y="%d" text-anchor="end" transform="rotate(-35 %.1f %d)">%s</text>`+"\n", x+w/2, chartH-padB+14, x+w/2, chartH-padB+14, html.EscapeString(l))
	}
	s.text(float64(chartW-padR), 20, "end", "grey: baseline, blue: window")
	return s.end()
}
