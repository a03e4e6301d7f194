package hpo

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// PlotSVG draws the objective of every finished trial (trial number on x,
// coloured by state)
// with the best-so-far line and the goal as a dashed line. The value axis
// is logarithmic when the values (and the goal) are positive and span two
// orders of magnitude or more; both axes have ticks. It is pure: records
// in, an SVG document out.
func PlotSVG(c Config, records []Record) []byte {
	const w, h, left, right, top, bottom = 640.0, 360.0, 64.0, 16.0, 36.0, 40.0
	type pt struct {
		i     int
		v     float64
		state TrialState
	}
	var pts []pt
	var values []float64
	for i, r := range records {
		if !r.Finished() || len(r.Metrics[c.Objective]) == 0 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			continue
		}
		pts = append(pts, pt{i + 1, r.Value, r.State})
		values = append(values, r.Value)
	}
	if c.Goal != nil && !math.IsNaN(*c.Goal) && !math.IsInf(*c.Goal, 0) {
		values = append(values, *c.Goal)
	}
	ax := valueAxis(values)
	n := max(len(records), 1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", w, h)
	scale := ""
	if ax.log {
		scale = ", log scale"
	}
	fmt.Fprintf(&b, `<text x="%g" y="20" font-size="14">%s: %s per trial (%s%s)</text>`+"\n", left, html.EscapeString(c.Name), html.EscapeString(c.Objective),
		map[Direction]string{Minimize: "minimize", Maximize: "maximize"}[c.Direction], scale)
	x := func(i int) float64 { return left + (w-left-right)*float64(i-1)/math.Max(float64(n-1), 1) }
	y := func(v float64) float64 { return top + (h-top-bottom)*(1-ax.frac(v)) }
	fmt.Fprintf(&b, `<path d="M%g %gV%gH%g" fill="none" stroke="#444"/>`+"\n", left, top, h-bottom, w-right)
	for _, v := range ax.ticks() {
		fmt.Fprintf(&b, `<path class="ytick" d="M%g %.1fh-4" stroke="#444"/><text x="%g" y="%.1f" text-anchor="end">%.4g</text>`+"\n", left, y(v), left-6, y(v)+4, v)
	}
	for _, i := range trialTicks(n) {
		fmt.Fprintf(&b, `<path class="xtick" d="M%.1f %gv4" stroke="#444"/><text class="xtick" x="%.1f" y="%g" text-anchor="middle">%d</text>`+"\n",
			x(i), h-bottom, x(i), h-bottom+15, i)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">trial</text>`+"\n", (left+w-right)/2, h-6)
	if c.Goal != nil && ax.frac(*c.Goal) >= 0 && ax.frac(*c.Goal) <= 1 {
		fmt.Fprintf(&b, `<path class="goal" d="M%g %.1fH%g" stroke="#9467bd" stroke-dasharray="6 4"/>`+"\n", left, y(*c.Goal), w-right)
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" fill="#9467bd">goal %.4g</text>`+"\n", w-right, y(*c.Goal)-4, *c.Goal)
	}
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

// axis is the value axis: linear from lo to hi, or log10 (lo, hi > 0).
type axis struct {
	lo, hi float64
	log    bool
}

// valueAxis fits the values: logarithmic when all are positive and the
// largest is at least 100 times the smallest.
func valueAxis(values []float64) axis {
	if len(values) == 0 {
		return axis{lo: 0, hi: 1}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if lo > 0 && hi/lo >= 100 {
		return axis{lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi))), log: true}
	}
	if hi-lo < 1e-12 {
		lo, hi = lo-0.5, hi+0.5
	}
	return axis{lo: lo, hi: hi}
}

// frac is where v sits on the axis, 0 at lo and 1 at hi.
func (a axis) frac(v float64) float64 {
	if a.log {
		if v <= 0 {
			return -1
		}
		return (math.Log10(v) - math.Log10(a.lo)) / (math.Log10(a.hi) - math.Log10(a.lo))
	}
	return (v - a.lo) / (a.hi - a.lo)
}

// ticks are the labelled values: each decade on a log axis (every other
// one beyond 8), five even steps on a linear one.
func (a axis) ticks() []float64 {
	var out []float64
	if a.log {
		decades := int(math.Round(math.Log10(a.hi / a.lo)))
		step := 1
		if decades > 8 {
			step = 2
		}
		for k := 0; k <= decades; k += step {
			out = append(out, a.lo*math.Pow(10, float64(k)))
		}
		return out
	}
	for k := 0; k <= 4; k++ {
		out = append(out, a.lo+(a.hi-a.lo)*float64(k)/4)
	}
	return out
}

// trialTicks are the trial numbers labelled on x: 1, then multiples of a
// step of 1, 2, 5, 10, 20, 50, ... that keeps them at most about 10.
func trialTicks(n int) []int {
	step := 1
	for m := 1; n/step > 10; m *= 10 {
		for _, s := range []int{1, 2, 5} {
			if step = s * m; n/step <= 10 {
				break
			}
		}
	}
	out := []int{1}
	for i := step; i <= n; i += step {
		if i > 1 {
			out = append(out, i)
		}
	}
	return out
}
