package lineage

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// The picture of a lineage graph is a layered (Sugiyama-style) drawing:
//
//  1. flows: artifacts become the edges they carry — a version imported by
//     a task, a task's output read by another task or become a version —
//     so versions and tasks are what is drawn, artifacts name the edges;
//  2. items: each version is an item, and each run is one item that holds
//     its tasks (a staircase inside the run's box, one row a task, one
//     column per step of the run's own task order);
//  3. cycles broken (depth first), layers assigned by longest path with
//     sources pulled next to what they feed, long edges cut by dummies;
//  4. order within layers: barycenter sweeps down and up with adjacent
//     exchanges, keeping the order with the fewest crossings;
//  5. coordinates: layers left to right; in each layer the items' heights
//     fixed, their y the closest (least squares, by isotonic regression)
//     to the mean of their neighbours', sweeping a few times.
//
// Picture holds the result; SVG draws it.

// Point is a point of the picture.
type Point struct{ X, Y float64 }

// Rect is a box of the picture.
type Rect struct{ X, Y, W, H float64 }

// Picture is a laid-out lineage graph.
type Picture struct {
	W, H float64
	// Versions are the version boxes (and artifacts no task holds).
	Versions []PicNode
	// Runs are the run boxes with their tasks.
	Runs []PicRun
	// Edges are the drawn edges, each a polyline.
	Edges []PicEdge
}

// PicNode is one box: a version or a task.
type PicNode struct {
	Node  Node
	Rect  Rect
	Lines []string
}

// PicRun is a run's box, its header lines and its tasks.
type PicRun struct {
	PicNode
	Tasks []PicNode
}

// PicEdge is one drawn edge between versions and tasks.
type PicEdge struct {
	From, To string
	Kind     string
	// Via names the artifact the edge stands for ("" when direct).
	Via    string
	Points []Point
}

// Drawing constants.
const (
	charW   = 6.2 // per character at font-size 10
	lineH   = 12.0
	boxPad  = 6.0
	layerGx = 70.0
	itemGy  = 22.0
	margin  = 20.0
	taskGx  = 26.0
	taskGy  = 10.0
	dummyH  = 8.0
	maxLine = 64 // characters shown on a box line (the title has all)
)

// flow is a drawn edge between two version or task nodes.
type flow struct {
	from, to, kind, via string
}

// flows turns the graph's edges into edges between versions and tasks:
// an artifact an importer task made from a version is that version going
// into the importer; otherwise every source of an artifact (a task that
// wrote it, a version imported as it) flows to every sink (a task that
// read it, a version it became). Artifacts with no source or no sink are
// returned in dangling by the task that wrote them.
func (g *Graph) flows() (fs []flow, dangling map[string][]string) {
	type ends struct{ producers, versionsIn, sinks []string }
	arts := map[string]*ends{}
	at := func(id string) *ends {
		if arts[id] == nil {
			arts[id] = &ends{}
		}
		return arts[id]
	}
	for _, e := range g.Edges {
		switch e.Kind {
		case EdgeOutput:
			at(e.To).producers = append(at(e.To).producers, e.From)
		case EdgeUsed:
			if strings.HasPrefix(e.To, "artifact:") {
				at(e.To).versionsIn = append(at(e.To).versionsIn, e.From)
			} else {
				fs = append(fs, flow{e.From, e.To, EdgeUsed, ""})
			}
		case EdgeInput, EdgeProduced:
			if !strings.HasPrefix(e.From, "artifact:") { // a collapsed item's
				fs = append(fs, flow{e.From, e.To, e.Kind, ""})
				continue
			}
			at(e.From).sinks = append(at(e.From).sinks, e.To)
		}
	}
	dangling = map[string][]string{}
	for _, id := range sortedKeys(arts) {
		a := arts[id]
		n, _ := g.Node(id)
		via := n.Label
		switch {
		case len(a.producers) > 0 && len(a.versionsIn) > 0: // an importer
			for _, v := range a.versionsIn {
				for _, p := range a.producers {
					fs = append(fs, flow{v, p, EdgeUsed, via})
				}
			}
			for _, p := range a.producers {
				for _, s := range a.sinks {
					fs = append(fs, flow{p, s, kindTo(s), via})
				}
			}
		case len(a.sinks) == 0:
			for _, p := range a.producers {
				dangling[p] = append(dangling[p], via)
			}
		default:
			for _, src := range append(append([]string{}, a.producers...), a.versionsIn...) {
				for _, s := range a.sinks {
					fs = append(fs, flow{src, s, kindTo(s), via})
				}
			}
		}
	}
	slices.SortFunc(fs, func(a, b flow) int {
		return strings.Compare(a.from+"\x00"+a.to+"\x00"+a.via, b.from+"\x00"+b.to+"\x00"+b.via)
	})
	return slices.Compact(fs), dangling
}

func kindTo(id string) string {
	if strings.HasPrefix(id, "task:") {
		return EdgeInput
	}
	return EdgeProduced
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// item is a top-level node of the layered graph: a version, a run holding
// its tasks, or a dummy on a long edge.
type item struct {
	id     string
	node   Node
	w, h   float64
	layer  int
	pos    int     // order in its layer
	y      float64 // top
	tasks  []*taskBox
	header []string
	dummy  bool
}

type taskBox struct {
	node     Node
	lines    []string
	w, h     float64
	col, row int
	x, y     float64 // relative to the run box
	// channel is the x (relative) of the free lane right of the task's
	// column, where edges to later columns go down or up.
	channel float64
}

// link is an edge of the layered graph between items (after cycles are
// broken and long edges cut: from's layer is to's minus one).
type link struct{ from, to *item }

// Layout lays the graph out (see the package's picture comment).
func (g *Graph) Layout() *Picture {
	fs, dangling := g.flows()
	items, owner := g.items(fs, dangling)
	ext := externalLinks(fs, owner)
	layers, links, chains := layer(items, ext)
	order(layers, links)
	place(layers, links)
	return draw(layers, items, fs, owner, chains)
}

// items makes the version and run items; owner maps a version or task id
// to its item.
func (g *Graph) items(fs []flow, dangling map[string][]string) (map[string]*item, map[string]*item) {
	items, owner := map[string]*item{}, map[string]*item{}
	runOf := func(id string) *item {
		if it := items["run:"+id]; it != nil {
			return it
		}
		n, ok := g.Node("run:" + id)
		if !ok {
			n = Node{ID: "run:" + id, Kind: KindRun, Label: "run " + id, Run: id}
		}
		it := &item{id: n.ID, node: n, header: g.boxLines(n)}
		items[n.ID] = it
		return it
	}
	used := map[string]bool{}
	for _, f := range fs {
		used[f.from], used[f.to] = true, true
	}
	for _, n := range g.Nodes {
		switch {
		case n.Kind == KindRun:
			runOf(n.Run)
		case n.Kind == KindTask:
			r := runOf(n.Run)
			lines := g.boxLines(n)
			if len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "in run ") {
				lines = lines[:len(lines)-1] // the run's box says it
			}
			if d := dangling[n.ID]; len(d) > 0 {
				lines = append(lines, "out: "+strings.Join(d, ", "))
			}
			r.tasks = append(r.tasks, &taskBox{node: n, lines: lines})
			owner[n.ID] = r
		case IsVersion(n.Kind) || n.Kind == KindRuns || (n.Kind == KindArtifact && used[n.ID]):
			it := &item{id: n.ID, node: n, header: g.boxLines(n)}
			items[n.ID], owner[n.ID] = it, it
		}
	}
	for _, it := range items {
		if it.node.Kind == KindRun {
			stairs(it, fs, owner)
		}
		if len(it.tasks) == 0 {
			it.w, it.h = textBox(it.header)
		}
	}
	return items, owner
}

// textBox is the size of a box holding lines.
func textBox(lines []string) (w, h float64) {
	n := 0
	for _, l := range lines {
		n = max(n, min(len([]rune(l)), maxLine))
	}
	return float64(n)*charW + 2*boxPad, float64(len(lines))*lineH + boxPad + 4
}

// stairs lays a run's tasks out inside its box: columns by the longest
// chain of the run's own flows before a task, one row a task (so an edge
// entering a task from the box's border crosses no other task), rows by
// column then name.
func stairs(run *item, fs []flow, owner map[string]*item) {
	col := map[string]int{}
	in := map[string][]string{}
	for _, f := range fs {
		if owner[f.from] == run && owner[f.to] == run && f.from != f.to {
			in[f.to] = append(in[f.to], f.from)
		}
	}
	state := map[string]int{}
	var depth func(id string) int
	depth = func(id string) int {
		if state[id] == 2 {
			return col[id]
		}
		if state[id] == 1 {
			return 0
		}
		state[id] = 1
		d := 0
		for _, p := range in[id] {
			d = max(d, depth(p)+1)
		}
		state[id], col[id] = 2, d
		return d
	}
	for _, t := range run.tasks {
		t.col = depth(t.node.ID)
		t.w, t.h = textBox(t.lines)
	}
	sort.SliceStable(run.tasks, func(i, j int) bool {
		a, b := run.tasks[i], run.tasks[j]
		if a.col != b.col {
			return a.col < b.col
		}
		return a.node.Label+a.node.ID < b.node.Label+b.node.ID
	})
	hw, hh := textBox(run.header)
	colX := map[int]float64{}
	colW := map[int]float64{}
	maxCol := 0
	for _, t := range run.tasks {
		colW[t.col] = max(colW[t.col], t.w)
		maxCol = max(maxCol, t.col)
	}
	x := boxPad
	for c := 0; c <= maxCol; c++ {
		colX[c] = x
		x += colW[c] + taskGx
	}
	y := hh + 2
	w := hw
	for i, t := range run.tasks {
		t.row, t.x, t.y, t.channel = i, colX[t.col], y, colX[t.col]+colW[t.col]+taskGx/2
		y += t.h + taskGy
		w = max(w, t.x+t.w+boxPad)
	}
	run.w, run.h = w, max(y-taskGy+boxPad, hh)
}

// externalLinks are the flows between items, once each.
func externalLinks(fs []flow, owner map[string]*item) [][2]*item {
	seen := map[[2]*item]bool{}
	var out [][2]*item
	for _, f := range fs {
		a, b := owner[f.from], owner[f.to]
		if a == nil || b == nil || a == b || seen[[2]*item{a, b}] {
			continue
		}
		seen[[2]*item{a, b}] = true
		out = append(out, [2]*item{a, b})
	}
	return out
}

// layer breaks cycles, assigns layers and cuts long links with dummies;
// chains are the dummies of each external link, from its source to its
// target.
func layer(items map[string]*item, ext [][2]*item) ([][]*item, []link, map[[2]*item][]*item) {
	ids := sortedKeys(items)
	succ := map[*item][]*item{}
	for _, e := range ext {
		succ[e[0]] = append(succ[e[0]], e[1])
	}
	// 1. Break cycles: links back to a node on the DFS stack reverse.
	state := map[*item]int{}
	var acyclic [][2]*item
	var dfs func(*item)
	dfs = func(n *item) {
		state[n] = 1
		for _, m := range succ[n] {
			switch state[m] {
			case 0:
				acyclic = append(acyclic, [2]*item{n, m})
				dfs(m)
			case 1:
				acyclic = append(acyclic, [2]*item{m, n})
			default:
				acyclic = append(acyclic, [2]*item{n, m})
			}
		}
		state[n] = 2
	}
	for _, id := range ids {
		if state[items[id]] == 0 {
			dfs(items[id])
		}
	}
	// 2. Longest path from the sources.
	preds, succs := map[*item][]*item{}, map[*item][]*item{}
	for _, e := range acyclic {
		preds[e[1]] = append(preds[e[1]], e[0])
		succs[e[0]] = append(succs[e[0]], e[1])
	}
	done := map[*item]bool{}
	var depth func(*item) int
	depth = func(n *item) int {
		if done[n] {
			return n.layer
		}
		l := 0
		for _, p := range preds[n] {
			l = max(l, depth(p)+1)
		}
		n.layer, done[n] = l, true
		return l
	}
	for _, id := range ids {
		depth(items[id])
	}
	// 3. Sources sit just before the first item they feed.
	for _, id := range ids {
		n := items[id]
		if len(preds[n]) == 0 && len(succs[n]) > 0 {
			l := 1 << 30
			for _, s := range succs[n] {
				l = min(l, s.layer)
			}
			n.layer = l - 1
		}
	}
	// 4. Dummies on long links.
	maxL := 0
	for _, n := range items {
		maxL = max(maxL, n.layer)
	}
	layers := make([][]*item, maxL+1)
	for _, id := range ids {
		layers[items[id].layer] = append(layers[items[id].layer], items[id])
	}
	var links []link
	chains := map[[2]*item][]*item{}
	for i, e := range acyclic {
		prev := e[0]
		var chain []*item
		for l := e[0].layer + 1; l < e[1].layer; l++ {
			d := &item{id: fmt.Sprintf("dummy:%d:%d", i, l), layer: l, h: dummyH, dummy: true}
			d.node = Node{ID: e[0].id + "->" + e[1].id}
			layers[l] = append(layers[l], d)
			links = append(links, link{prev, d})
			chain = append(chain, d)
			prev = d
		}
		links = append(links, link{prev, e[1]})
		chains[e] = chain
		back := slices.Clone(chain)
		slices.Reverse(back)
		chains[[2]*item{e[1], e[0]}] = back
	}
	return layers, links, chains
}
