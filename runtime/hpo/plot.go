package hpo

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// PlotSVG draws the objective of each finished trial (in creation order) as
// points, coloured by state, with the best-so-far line of the succeeded
// trials. It is pure: records in, an SVG document out.
func PlotSVG(c Config, records []Record) []byte {
	const w, h, left, right, top, bottom = 640.0, 360.0, 64.0, 16.0, 36.0, 40.0
	type pt struct {
		i     int
		v     float64
		state TrialState
	}
	var pts []pt
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range records {
		if !r.Finished() || len(r.Metrics[c.Objective]) == 0 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			continue
		}
		pts = append(pts, pt{i + 1, r.Value, r.State})
		lo, hi = math.Min(lo, r.Value), math.Max(hi, r.Value)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%g" y="20" font-size="14">%s: %s per trial (%s)</text>`+"\n", left, html.EscapeString(c.Name), html.EscapeString(c.Objective), map[Direction]string{Minimize: "minimize", Maximize: "maximize"}[c.Direction])
	n := max(len(records), 1)
	if len(pts) == 0 {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-12 {
		lo, hi = lo-0.5, hi+0.5
	}
	x := func(i int) float64 { return left + (w-left-right)*float64(i-1)/math.Max(float64(n-1), 1) }
	y := func(v float64) float64 { return top + (h-top-bottom)*(hi-v)/(hi-lo) }
	fmt.Fprintf(&b, `<path d="M%g %gV%gH%g" fill="none" stroke="#444"/>`+"\n", left, top, h-bottom, w-right)
	for k := 0; k <= 4; k++ {
		v := lo + (hi-lo)*float64(k)/4
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">%.4g</text>`+"\n", left-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">trial (1..%d)</text>`+"\n", (left+w-right)/2, h-10, n)
	colour := map[TrialState]string{Succeeded: "#1f77b4", EarlyStopped: "#ff7f0e", Failed: "#d62728", MetricMissing: "#7f7f7f"}
	var best []string
	bestV, have := 0.0, false
	for _, p := range pts {
		fmt.Fprintf(&b, `<circle class="trial" cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>trial %d %s %s=%g</title></circle>`+"\n",
			x(p.i), y(p.v), colour[p.state], p.i, p.state, html.EscapeString(c.Objective), p.v)
		if p.state != Succeeded {
			continue
		}
		if !have || (c.Direction == Minimize && p.v < bestV) || (c.Direction == Maximize && p.v > bestV) {
			if have {
				best = append(best, fmt.Sprintf("%.1f,%.1f", x(p.i), y(bestV)))
			}
			bestV, have = p.v, true
		}
		best = append(best, fmt.Sprintf("%.1f,%.1f", x(p.i), y(bestV)))
	}
	if len(best) > 0 {
		fmt.Fprintf(&b, `<polyline class="best" points="%s" fill="none" stroke="#2ca02c" stroke-width="2"/>`+"\n", strings.Join(best, " "))
		fmt.Fprintf(&b, `<text x="%g" y="20" text-anchor="end" fill="#2ca02c">best so far: %.6g</text>`+"\n", w-right, bestV)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}
