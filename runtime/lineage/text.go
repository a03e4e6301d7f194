package lineage

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Tree renders the graph as a text tree from the node root: upstream (up)
// each node's children are what it came from — a version ← the task that
// made it ← that task's inputs ← their producers, back to raw datasets —
// downstream what was made from it. Artifacts between tasks are named on
// the branch, not as nodes; each task names its run by display name and
// id; a node met again is not expanded twice.
func (g *Graph) Tree(root string, up bool) []byte {
	t := treeWriter{g: g, up: up, shown: map[string]bool{}, next: map[string][]Edge{}}
	for _, e := range g.Edges {
		if e.Kind == EdgeRan {
			continue
		}
		if up {
			t.next[e.To] = append(t.next[e.To], e)
		} else {
			t.next[e.From] = append(t.next[e.From], e)
		}
	}
	n, ok := g.Node(root)
	if !ok {
		return []byte(fmt.Sprintf("no %s in the lineage\n", root))
	}
	t.b.WriteString(t.describe(n) + "\n")
	t.shown[root] = true
	t.children(root, "")
	return []byte(t.b.String())
}

type treeWriter struct {
	g     *Graph
	up    bool
	b     strings.Builder
	shown map[string]bool
	next  map[string][]Edge
}

// branch is one child: the node reached and how, through an artifact.
type branch struct {
	how string
	to  Node
}

// branches are the children of id, artifacts stepped through.
func (t *treeWriter) branches(id string) []branch {
	from, _ := t.g.Node(id)
	var out []branch
	for _, e := range t.next[id] {
		other := e.From
		if !t.up {
			other = e.To
		}
		n, ok := t.g.Node(other)
		if !ok {
			continue
		}
		if n.Kind != KindArtifact {
			out = append(out, branch{t.how(from, "", n), n})
			continue
		}
		beyond := t.next[other]
		if len(beyond) == 0 { // a raw input or an unused output
			out = append(out, branch{t.how(from, n.Label, n), n})
		}
		for _, e2 := range beyond {
			o := e2.From
			if !t.up {
				o = e2.To
			}
			if m, ok := t.g.Node(o); ok {
				out = append(out, branch{t.how(from, n.Label, m), m})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b branch) int {
		return strings.Compare(a.to.Run+"\x00"+a.how+a.to.Label+a.to.ID, b.to.Run+"\x00"+b.how+b.to.Label+b.to.ID)
	})
	return slices.CompactFunc(out, func(a, b branch) bool { return a.how == b.how && a.to.ID == b.to.ID })
}

// how says how a branch leads from one node to another, through the
// artifact named art ("" when direct).
func (t *treeWriter) how(from Node, art string, to Node) string {
	switch {
	case to.Kind == KindRuns && t.up:
		return "made by"
	case to.Kind == KindRuns:
		return "used by"
	case art == "" && t.up && from.Kind == KindTask && IsVersion(to.Kind):
		return "uses"
	case art == "" && !t.up && IsVersion(from.Kind) && to.Kind == KindTask:
		return "used by"
	case t.up && from.Kind != KindTask && to.Kind == KindTask:
		return "made by"
	case t.up && to.Kind == KindTask:
		return "input " + art + " from"
	case t.up && to.Kind == KindArtifact:
		return "input"
	case t.up:
		return "input " + art + " imported from"
	case from.Kind != KindTask && to.Kind == KindTask:
		return "imported as " + art + ", read by"
	case to.Kind == KindTask:
		return "output " + art + " read by"
	case to.Kind == KindArtifact:
		return "output"
	}
	return "output " + art + " became"
}

func (t *treeWriter) children(id, prefix string) {
	bs := t.branches(id)
	for i, b := range bs {
		last := i == len(bs)-1
		conn, more := "├─ ", "│  "
		if last {
			conn, more = "└─ ", "   "
		}
		line := b.how + " " + t.describe(b.to)
		if t.shown[b.to.ID] && len(t.branches(b.to.ID)) > 0 {
			t.b.WriteString(prefix + conn + line + " (as above)\n")
			continue
		}
		t.b.WriteString(prefix + conn + line + "\n")
		t.shown[b.to.ID] = true
		t.children(b.to.ID, prefix+more)
	}
}

// describe is one node on one line.
func (t *treeWriter) describe(n Node) string {
	switch n.Kind {
	case KindTask:
		s := "task " + n.Label
		if ps := params(n.Params); ps != "" {
			s += " (" + ps + ")"
		}
		run, _ := t.g.Node("run:" + n.Run)
		name := strings.TrimPrefix(run.Label, "run ")
		if name == "" || name == n.Run {
			s += fmt.Sprintf(" in run %s", n.Run)
		} else {
			s += fmt.Sprintf(" in run %q (%s)", name, n.Run)
		}
		if n.Phase != "" {
			s += " " + n.Phase
		}
		return s
	case KindArtifact:
		return "artifact " + strings.TrimPrefix(n.ID, "artifact:")
	case KindRuns:
		return fmt.Sprintf("%s (%s drawn; the rest not shown)", n.Label, n.Params["shown"])
	}
	if n.More > 0 {
		return fmt.Sprintf("%s (more… %d runs beyond: ask for its lineage)", n.Label, n.More)
	}
	return n.Label
}

// params renders NAME=VALUE pairs by name, long values cut.
func params(ps map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(ps)) {
		v := ps[k]
		if len(v) > 48 {
			v = v[:20] + "…" + v[len(v)-20:]
		}
		out = append(out, k+"="+v)
	}
	return strings.Join(out, " ")
}
