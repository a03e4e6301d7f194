package lineage

import (
	"fmt"
	"html"
	"strings"
)

// draw turns the placed layers into the picture: boxes where their items
// are, edges as polylines through the dummies of their layered links.
func draw(layers [][]*item, items map[string]*item, fs []flow, owner map[string]*item, chains map[[2]*item][]*item) *Picture {
	layerX := make([]float64, len(layers))
	layerW := make([]float64, len(layers))
	x := margin
	p := &Picture{}
	for i, layer := range layers {
		for _, n := range layer {
			layerW[i] = max(layerW[i], n.w)
		}
		layerX[i] = x
		x += layerW[i] + layerGx
		for _, n := range layer {
			p.H = max(p.H, n.y+n.h+margin)
		}
	}
	p.W = x - layerGx + margin
	rect := func(n *item) Rect { return Rect{layerX[n.layer], n.y, n.w, n.h} }
	task := map[string]*taskBox{}
	for _, id := range sortedKeys(items) {
		n := items[id]
		if n.node.Kind != KindRun {
			p.Versions = append(p.Versions, PicNode{Node: n.node, Rect: rect(n), Lines: n.header})
			continue
		}
		r := PicRun{PicNode: PicNode{Node: n.node, Rect: rect(n), Lines: n.header}}
		for _, t := range n.tasks {
			task[t.node.ID] = t
			r.Tasks = append(r.Tasks, PicNode{Node: t.node, Rect: Rect{r.Rect.X + t.x, r.Rect.Y + t.y, t.w, t.h}, Lines: t.lines})
		}
		p.Runs = append(p.Runs, r)
	}
	// Where an edge leaves a node and where it enters one: a task's side,
	// carried to its run box's border along the task's row.
	out := func(id string) []Point {
		it := owner[id]
		r := rect(it)
		if t := task[id]; t != nil {
			cy := r.Y + t.y + t.h/2
			return []Point{{r.X + t.x + t.w, cy}, {r.X + r.W, cy}}
		}
		return []Point{{r.X + r.W, r.Y + r.H/2}}
	}
	in := func(id string) []Point {
		it := owner[id]
		r := rect(it)
		if t := task[id]; t != nil {
			cy := r.Y + t.y + t.h/2
			return []Point{{r.X, cy}, {r.X + t.x, cy}}
		}
		return []Point{{r.X, r.Y + r.H/2}}
	}
	for _, f := range fs {
		a, b := owner[f.from], owner[f.to]
		if a == nil || b == nil {
			continue
		}
		e := PicEdge{From: f.from, To: f.to, Kind: f.kind, Via: f.via}
		if a == b {
			ta, tb := task[f.from], task[f.to]
			if ta == nil || tb == nil {
				continue
			}
			// Right to the lane after the source's column, along it to
			// the target's row, right to the target: one task a row, so
			// the lane and the row cross no other task.
			r := rect(a)
			ya, yb := r.Y+ta.y+ta.h/2, r.Y+tb.y+tb.h/2
			e.Points = []Point{{r.X + ta.x + ta.w, ya}, {r.X + ta.channel, ya}, {r.X + ta.channel, yb}, {r.X + tb.x, yb}}
		} else {
			e.Points = out(f.from)
			for _, d := range chains[[2]*item{a, b}] {
				cy, l, rgt := d.y+d.h/2, layerX[d.layer], layerX[d.layer]+layerW[d.layer]
				if a.layer > b.layer {
					l, rgt = rgt, l
				}
				e.Points = append(e.Points, Point{l, cy}, Point{rgt, cy})
			}
			e.Points = append(e.Points, in(f.to)...)
		}
		p.Edges = append(p.Edges, e)
	}
	return p
}

// Crossings counts the places where two drawn edges cross: each pair of
// segments of different edges that meet inside both (not where they
// merely end at the same port).
func (p *Picture) Crossings() int {
	lines := make([][]Point, len(p.Edges))
	for i, e := range p.Edges {
		lines[i] = e.Points
	}
	return Crossings(lines)
}

// Crossings counts the proper crossings between segments of different
// polylines.
func Crossings(lines [][]Point) int {
	type seg struct {
		a, b Point
		line int
	}
	var segs []seg
	for i, l := range lines {
		for j := 0; j+1 < len(l); j++ {
			if l[j] != l[j+1] {
				segs = append(segs, seg{l[j], l[j+1], i})
			}
		}
	}
	c := 0
	for i := range segs {
		for j := i + 1; j < len(segs); j++ {
			if segs[i].line != segs[j].line && cross(segs[i].a, segs[i].b, segs[j].a, segs[j].b) {
				c++
			}
		}
	}
	return c
}

// cross reports whether segments ab and cd cross at a point inside both.
func cross(a, b, c, d Point) bool {
	orient := func(p, q, r Point) float64 { return (q.X-p.X)*(r.Y-p.Y) - (q.Y-p.Y)*(r.X-p.X) }
	const eps = 1e-9
	d1, d2 := orient(c, d, a), orient(c, d, b)
	d3, d4 := orient(a, b, c), orient(a, b, d)
	return ((d1 > eps && d2 < -eps) || (d1 < -eps && d2 > eps)) && ((d3 > eps && d4 < -eps) || (d3 < -eps && d4 > eps))
}

// Fills and shapes by kind: every kind is drawn distinctly.
var fills = map[Kind]string{KindRun: "#f2f2f2", KindTask: "#dbe9f6", KindArtifact: "#fff7d6",
	KindDataset: "#d9f2d9", KindModel: "#f6dbe9", KindCode: "#e6e0f8", KindFeatureSet: "#fde9c8"}

// SVG draws the graph's layered picture (Layout): runs as boxes holding
// their tasks, versions as the primary nodes — datasets as cylinders,
// featuresets as hexagons, code as folders, models as double boxes —
// edges as polylines named for the artifact they carry. Every box's title
// holds its full text; runs and versions carry their node id (data-id),
// which the console turns into links.
func (g *Graph) SVG() []byte {
	p := g.Layout()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="10">`+"\n", p.W, p.H, p.W, p.H)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0L10 5L0 10z" fill="#555"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="%.0f" height="%.0f" fill="white"/>`+"\n", p.W, p.H)
	for _, r := range p.Runs {
		fmt.Fprintf(&b, `<g class="node run" data-id="%s"><title>%s</title>`, html.EscapeString(r.Node.ID), html.EscapeString(dotLabel(r.Node)))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="8" fill="%s" stroke="#777" stroke-dasharray="5 3"/>`, r.Rect.X, r.Rect.Y, r.Rect.W, r.Rect.H, fills[KindRun])
		writeLines(&b, r.Rect, r.Lines, true)
		b.WriteString("</g>\n")
		for _, t := range r.Tasks {
			fmt.Fprintf(&b, `<g class="node task"><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="5" fill="%s" stroke="#333"/>`,
				html.EscapeString(dotLabel(t.Node)+"\nin "+r.Node.Label), t.Rect.X, t.Rect.Y, t.Rect.W, t.Rect.H, fills[KindTask])
			writeLines(&b, t.Rect, t.Lines, false)
			b.WriteString("</g>\n")
		}
	}
	for _, e := range p.Edges {
		var pts []string
		for _, q := range e.Points {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", q.X, q.Y))
		}
		title := e.From + " → " + e.To
		if e.Via != "" {
			title += " (artifact " + e.Via + ")"
		}
		fmt.Fprintf(&b, `<polyline class="edge %s" points="%s" fill="none" stroke="#555" marker-end="url(#arrow)"><title>%s</title></polyline>`+"\n",
			e.Kind, strings.Join(pts, " "), html.EscapeString(title))
	}
	for _, v := range p.Versions {
		more := ""
		if v.Node.More > 0 {
			more = fmt.Sprintf(` data-more="%d"`, v.Node.More)
		}
		fmt.Fprintf(&b, `<g class="node %s" data-id="%s"%s><title>%s</title>`, v.Node.Kind, html.EscapeString(v.Node.ID), more, html.EscapeString(versionTitle(v.Node)))
		shape(&b, v.Node.Kind, v.Rect)
		writeLines(&b, v.Rect, v.Lines, false)
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

func versionTitle(n Node) string {
	s := dotLabel(n)
	if n.More > 0 {
		s += fmt.Sprintf("\nmore… %d runs beyond, open its lineage", n.More)
	}
	if n.Commit != "" {
		s += "\ncommit " + n.Commit
	}
	return s
}

// shape draws a version's outline by kind.
func shape(b *strings.Builder, k Kind, r Rect) {
	fill := fills[k]
	switch k {
	case KindDataset: // a cylinder
		e := 4.0
		fmt.Fprintf(b, `<path d="M%.1f %.1f v%.1f a%.1f %.1f 0 0 0 %.1f 0 v%.1f a%.1f %.1f 0 0 0 %.1f 0 z" fill="%s" stroke="#333"/>`,
			r.X, r.Y+e, r.H-2*e, r.W/2, e, r.W, -(r.H - 2*e), r.W/2, e, -r.W, fill)
		fmt.Fprintf(b, `<path d="M%.1f %.1f a%.1f %.1f 0 0 0 %.1f 0" fill="none" stroke="#333"/>`, r.X, r.Y+e, r.W/2, e, r.W)
	case KindFeatureSet: // a hexagon
		c := 6.0
		fmt.Fprintf(b, `<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s" stroke="#333"/>`,
			r.X, r.Y+r.H/2, r.X+c, r.Y, r.X+r.W-c, r.Y, r.X+r.W, r.Y+r.H/2, r.X+r.W-c, r.Y+r.H, r.X+c, r.Y+r.H, fill)
	case KindCode: // a folder with its tab
		fmt.Fprintf(b, `<path d="M%.1f %.1f h%.1f l4 -4 h%.1f l4 4 h%.1f v%.1f h%.1f z" fill="%s" stroke="#333"/>`,
			r.X, r.Y, 4.0, 24.0, r.W-36, r.H, -r.W, fill)
	case KindModel: // a double box
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="3" fill="%s" stroke="#333"/>`, r.X, r.Y, r.W, r.H, fill)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="2" fill="none" stroke="#333"/>`, r.X+2.5, r.Y+2.5, r.W-5, r.H-5)
	default:
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="%s" stroke="#333"/>`, r.X, r.Y, r.W, r.H, fill)
	}
}

// writeLines writes a box's lines, the first in bold for a run; a line
// longer than the box allows ends in "…" (the title has it whole).
func writeLines(b *strings.Builder, r Rect, lines []string, bold bool) {
	for i, line := range lines {
		if rs := []rune(line); len(rs) > maxLine {
			line = string(rs[:maxLine-1]) + "…"
		}
		weight := ""
		if bold && i == 0 {
			weight = ` font-weight="bold"`
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f"%s>%s</text>`, r.X+boxPad, r.Y+boxPad+9+float64(i)*lineH, weight, html.EscapeString(line))
	}
}
