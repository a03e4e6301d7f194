package lineage

import (
	"fmt"
	"html"
	"maps"
	"slices"
	"sort"
	"strings"
)

// DOT renders the graph for Graphviz.
func (g *Graph) DOT() []byte {
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=10];\n")
	shapes := map[Kind]string{KindRun: "box3d", KindTask: "box", KindArtifact: "note", KindDataset: "cylinder", KindModel: "component"}
	for _, n := range g.Nodes {
		fmt.Fprintf(&b, "  %q [label=%q, shape=%s];\n", n.ID, dotLabel(n), shapes[n.Kind])
	}
	for _, e := range g.Edges {
		style := ""
		if e.Kind == EdgeRan {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q -> %q [label=%q%s];\n", e.From, e.To, e.Kind, style)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

func dotLabel(n Node) string {
	lines := []string{n.Label}
	if n.Phase != "" {
		lines = append(lines, n.Phase)
	}
	for _, k := range slices.Sorted(maps.Keys(n.Params)) {
		lines = append(lines, k+"="+n.Params[k])
	}
	return strings.Join(lines, "\n")
}

// layers assigns each node a column: the longest path to it from a node
// with no incoming edges (edges are acyclic; a cycle, which runs cannot
// make, is broken at the node visited first).
func (g *Graph) layers() map[string]int {
	in := map[string][]string{}
	for _, e := range g.Edges {
		in[e.To] = append(in[e.To], e.From)
	}
	layer := map[string]int{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(id string) int
	visit = func(id string) int {
		switch state[id] {
		case 2:
			return layer[id]
		case 1:
			return 0
		}
		state[id] = 1
		l := 0
		for _, p := range in[id] {
			l = max(l, visit(p)+1)
		}
		state[id], layer[id] = 2, l
		return l
	}
	for _, n := range g.Nodes {
		visit(n.ID)
	}
	return layer
}

// SVG draws the graph left to right in columns by layer, one box per node
// (coloured by kind) and one arrow per edge. Each box shows what tells its
// node apart, not only its tooltip: a run its display name, id, phase,
// arguments, metrics and the versions it made; a task its phase,
// parameters and run.
func (g *Graph) SVG() []byte {
	const boxW, gapX, gapY, pad, lineH = 220.0, 60.0, 18.0, 20.0, 12.0
	layer := g.layers()
	cols := map[int][]Node{}
	maxL := 0
	for _, n := range g.Nodes {
		cols[layer[n.ID]] = append(cols[layer[n.ID]], n)
		maxL = max(maxL, layer[n.ID])
	}
	lines := map[string][]string{}
	pos := map[string][2]float64{}
	height := map[string]float64{}
	h := 0.0
	for l := 0; l <= maxL; l++ {
		sort.SliceStable(cols[l], func(i, j int) bool { return cols[l][i].ID < cols[l][j].ID })
		y := pad
		for _, n := range cols[l] {
			lines[n.ID] = g.boxLines(n)
			height[n.ID] = 10 + lineH*float64(len(lines[n.ID]))
			pos[n.ID] = [2]float64{pad + float64(l)*(boxW+gapX), y}
			y += height[n.ID] + gapY
		}
		h = max(h, y-gapY+pad)
	}
	w := 2*pad + float64(maxL+1)*(boxW+gapX) - gapX
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="10">`+"\n", w, h, w, h)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0 0L10 5L0 10z" fill="#555"/></marker></defs>` + "\n")
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="white"/>`+"\n", w, h)
	for _, e := range g.Edges {
		f, t := pos[e.From], pos[e.To]
		dash := ""
		if e.Kind == EdgeRan {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(&b, `<line class="edge %s" x1="%g" y1="%g" x2="%g" y2="%g" stroke="#555"%s marker-end="url(#arrow)"><title>%s → %s (%s)</title></line>`+"\n",
			e.Kind, f[0]+boxW, f[1]+height[e.From]/2, t[0], t[1]+height[e.To]/2, dash, html.EscapeString(e.From), html.EscapeString(e.To), e.Kind)
	}
	fill := map[Kind]string{KindRun: "#e8e8e8", KindTask: "#dbe9f6", KindArtifact: "#fff7d6", KindDataset: "#d9f2d9", KindModel: "#f6dbe9"}
	for _, n := range g.Nodes {
		p := pos[n.ID]
		fmt.Fprintf(&b, `<g class="node %s"><title>%s</title><rect x="%g" y="%g" width="%g" height="%g" rx="6" fill="%s" stroke="#333"/>`,
			n.Kind, html.EscapeString(dotLabel(n)), p[0], p[1], boxW, height[n.ID], fill[n.Kind])
		for i, line := range lines[n.ID] {
			if r := []rune(line); len(r) > 38 {
				line = string(r[:37]) + "…"
			}
			fmt.Fprintf(&b, `<text x="%g" y="%g">%s</text>`, p[0]+6, p[1]+15+float64(i)*lineH, html.EscapeString(line))
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// boxLines are the lines of a node's box.
func (g *Graph) boxLines(n Node) []string {
	switch n.Kind {
	case KindRun:
		id := n.Run
		if len(id) > 13 {
			id = id[:13] + "…"
		}
		out := append([]string{n.Label, strings.TrimSpace(id + " " + n.Phase)}, pairs(n.Params, 4)...)
		ms := map[string]string{}
		for k, v := range n.Metrics {
			ms[k] = fmt.Sprintf("%.4g", v)
		}
		out = append(out, pairs(ms, 4)...)
		if len(n.Made) > 0 {
			out = append(out, "made "+strings.Join(n.Made, ", "))
		}
		return out
	case KindTask:
		out := append([]string{strings.TrimSpace("task " + n.Label + " " + n.Phase)}, pairs(n.Params, 3)...)
		if run, ok := g.Node("run:" + n.Run); ok {
			out = append(out, "in "+run.Label)
		}
		return out
	}
	return []string{n.Label}
}

// pairs are NAME=VALUE lines, short values first (they tell runs apart
// best), at most limit of them.
func pairs(m map[string]string, limit int) []string {
	keys := slices.Sorted(maps.Keys(m))
	sort.SliceStable(keys, func(i, j int) bool { return len(m[keys[i]]) < len(m[keys[j]]) })
	var out []string
	for i, k := range keys {
		if i == limit-1 && len(keys) > limit {
			out = append(out, fmt.Sprintf("(+%d more)", len(keys)-i))
			break
		}
		v := m[k]
		if r := []rune(v); len(r) > 24 {
			v = string(r[:10]) + "…" + string(r[len(r)-8:])
		}
		out = append(out, k+"="+v)
	}
	return out
}
