package lineage

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// DOT renders the graph for Graphviz.
func (g *Graph) DOT() []byte {
	var b strings.Builder
	b.WriteString("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=10];\n")
	shapes := map[Kind]string{KindRun: "box3d", KindTask: "box", KindArtifact: "note", KindDataset: "cylinder", KindModel: "component",
		KindCode: "folder", KindFeatureSet: "hexagon"}
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
	case KindRuns:
		out := []string{n.Label}
		if v := n.Params["used"]; v != "" {
			out = append(out, "that used "+v)
		}
		if v := n.Params["made"]; v != "" {
			out = append(out, "that made "+v)
		}
		return append(out, n.Params["shown"]+" of them drawn; open the list")
	}
	if n.More > 0 {
		return []string{n.Label, fmt.Sprintf("more… %d runs beyond, open its lineage", n.More)}
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
