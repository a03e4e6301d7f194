package lineage

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// history is a 20-run history as the engines record it: 6 preprocessing
// runs (importer → extract → featureset version) over three dataset
// versions, then 14 training runs (importer of a featureset version, a
// code version as train's parameter, train → model, evaluate → metrics),
// the code moving through three versions and the models through m@v1..v14.
func history() *Graph { return Build(historyRecords()) }

// historyRecords are history's runs and version links, oldest first.
func historyRecords() ([]Run, []Link) {
	key := func(run, pod, name string) wfv1.Artifact {
		return wfv1.Artifact{Name: name, ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "kubeline/" + run + "/" + pod + "/" + name}}}
	}
	param := func(n, v string) wfv1.Parameter { return wfv1.Parameter{Name: n, Value: wfv1.AnyStringPtr(v)} }
	pod := func(id, task string, params []wfv1.Parameter, in, out []wfv1.Artifact) wfv1.NodeStatus {
		return wfv1.NodeStatus{ID: id, Type: wfv1.NodeTypePod, DisplayName: task, Phase: wfv1.NodeSucceeded,
			Inputs:  &wfv1.Inputs{Parameters: append([]wfv1.Parameter{param(TaskParam, task)}, params...), Artifacts: in},
			Outputs: &wfv1.Outputs{Artifacts: out}}
	}
	datasets := []Version{{KindDataset, "raw", 1}, {KindDataset, "raw", 2}, {KindDataset, "clicks", 1}}
	var runs []Run
	var links []Link
	for i := 0; i < 6; i++ {
		id := fmt.Sprintf("prep-%02d", i)
		d := datasets[i%3]
		wf := &wfv1.Workflow{Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{
			id + "-1": pod(id+"-1", "importer", []wfv1.Parameter{param("uri", d.ID())}, nil, []wfv1.Artifact{key(id, "imp", "artifact")}),
			id + "-2": pod(id+"-2", "extract", []wfv1.Parameter{param("window", fmt.Sprint(7*(1+i%2)))}, []wfv1.Artifact{key(id, "imp", "artifact")},
				[]wfv1.Artifact{key(id, "extract", "features")}),
		}}}
		wf.Spec.Arguments.Parameters = []wfv1.Parameter{param("window", fmt.Sprint(7*(1+i%2)))}
		runs = append(runs, Run{ID: id, Name: "preprocess " + d.Name, Workflow: wf})
		links = append(links, Link{Version: d, RunID: id, Key: "kubeline/" + id + "/imp/artifact"},
			Link{Version: Version{KindFeatureSet, "customers", 1 + i/2}, RunID: id, Key: "kubeline/" + id + "/extract/features", Produced: true})
	}
	for i := 0; i < 14; i++ {
		id := fmt.Sprintf("train-%02d", i)
		fs := Version{KindFeatureSet, "customers", 1 + (i*5)%3}
		code := Version{KindCode, "app", 1 + i/5}
		lr := fmt.Sprintf("0.%d", 1+i%4)
		wf := &wfv1.Workflow{Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{
			id + "-1": pod(id+"-1", "importer", []wfv1.Parameter{param("uri", fs.ID())}, nil, []wfv1.Artifact{key(id, "imp", "artifact")}),
			id + "-2": pod(id+"-2", "train", []wfv1.Parameter{param("lr", lr), param("code", code.ID())}, []wfv1.Artifact{key(id, "imp", "artifact")},
				[]wfv1.Artifact{key(id, "train", "model")}),
			id + "-3": pod(id+"-3", "evaluate", nil, []wfv1.Artifact{key(id, "imp", "artifact"), key(id, "train", "model")},
				[]wfv1.Artifact{key(id, "evaluate", "metrics")}),
		}}}
		wf.Spec.Arguments.Parameters = []wfv1.Parameter{param("lr", lr)}
		runs = append(runs, Run{ID: id, Name: "train " + lr, Workflow: wf, Metrics: map[string]float64{"evaluate.accuracy": 0.7 + float64(i)/100}})
		links = append(links, Link{Version: fs, RunID: id, Key: "kubeline/" + id + "/imp/artifact"},
			Link{Version: code, RunID: id, Key: "param:" + id + "-2/code"},
			Link{Version: Version{KindModel, "m", 1 + i}, RunID: id, Key: "kubeline/" + id + "/train/model", Produced: true})
	}
	return runs, links
}

// oldLayout is the picture kubeline drew before the layered layout (the
// code of runtime/lineage/render.go at commit 62c2ead, kept here to
// measure against): every node a 220-wide box in the column of its
// longest path from a source (over every edge, the run→task ones too),
// columns sorted by node ID, each edge one straight line from the right
// middle of its source to the left middle of its target.
func oldLayout(g *Graph) [][]Point {
	const boxW, gapX, gapY, pad, lineH = 220.0, 60.0, 18.0, 20.0, 12.0
	in := map[string][]string{}
	for _, e := range g.Edges {
		in[e.To] = append(in[e.To], e.From)
	}
	layer, state := map[string]int{}, map[string]int{}
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
	cols := map[int][]Node{}
	for _, n := range g.Nodes {
		visit(n.ID)
		cols[layer[n.ID]] = append(cols[layer[n.ID]], n)
	}
	pos, height := map[string]Point{}, map[string]float64{}
	for l, col := range cols {
		sort.SliceStable(col, func(i, j int) bool { return col[i].ID < col[j].ID })
		y := pad
		for _, n := range col {
			height[n.ID] = 10 + lineH*float64(len(g.boxLines(n)))
			pos[n.ID] = Point{pad + float64(l)*(boxW+gapX), y}
			y += height[n.ID] + gapY
		}
	}
	var lines [][]Point
	for _, e := range g.Edges {
		f, t := pos[e.From], pos[e.To]
		lines = append(lines, []Point{{f.X + boxW, f.Y + height[e.From]/2}, {t.X, t.Y + height[e.To]/2}})
	}
	return lines
}

// TestLayeredLayoutCrossings is issue 20's acceptance 3: on a 20-run
// history the layered picture has at most a quarter of the edge crossings
// of the old column layout (both counted the same way: segments of
// different edges crossing inside both), every version is drawn, each
// run's tasks inside its box, full names in titles. The picture is saved
// as test-output/lineage/history-20-runs.svg (and the old one beside it).
func TestLayeredLayoutCrossings(t *testing.T) {
	g := history()
	require.Len(t, g.Runs(), 20)
	old := Crossings(oldLayout(g))
	p := g.Layout()
	got := p.Crossings()
	t.Logf("edge crossings on the 20-run history: old column layout %d, layered layout %d (%d drawn edges)", old, got, len(p.Edges))
	assert.Greater(t, old, 0)
	assert.LessOrEqual(t, got*4, old, "the layered layout must have at most a quarter of the old layout's crossings")

	// Nothing overlaps: versions and run boxes are apart; tasks inside their runs.
	var boxes []PicNode
	boxes = append(boxes, p.Versions...)
	for _, r := range p.Runs {
		boxes = append(boxes, r.PicNode)
		for _, tk := range r.Tasks {
			assert.True(t, inside(tk.Rect, r.Rect), "task %s outside its run %s", tk.Node.ID, r.Node.ID)
		}
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			assert.False(t, overlap(boxes[i].Rect, boxes[j].Rect), "%s and %s overlap", boxes[i].Node.ID, boxes[j].Node.ID)
		}
	}
	versions := 0
	for _, n := range g.Nodes {
		if IsVersion(n.Kind) {
			versions++
		}
	}
	assert.Equal(t, versions, len(p.Versions), "every version drawn")

	svg := g.SVG()
	var doc struct {
		Groups []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"g"`
	}
	require.NoError(t, xml.Unmarshal(svg, &doc))
	shapes := map[string]bool{}
	for _, grp := range doc.Groups {
		shapes[grp.Class] = true
		if grp.Class == "node featureset" {
			assert.True(t, strings.HasPrefix(grp.Title, "featureset customers@v"), grp.Title)
		}
	}
	for _, k := range []string{"node dataset", "node featureset", "node code", "node model", "node run", "node task"} {
		assert.True(t, shapes[k], "no %s drawn", k)
	}
	dir := filepath.Join("..", "..", "test-output", "lineage")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history-20-runs.svg"), svg, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history-20-runs-old-layout.svg"), oldSVG(g, oldLayout(g)), 0o644))
}

func inside(a, b Rect) bool {
	return a.X >= b.X && a.Y >= b.Y && a.X+a.W <= b.X+b.W && a.Y+a.H <= b.Y+b.H
}

func overlap(a, b Rect) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// oldSVG draws the old layout's edges only (to look at side by side).
func oldSVG(g *Graph, lines [][]Point) []byte {
	var b strings.Builder
	w, h := 0.0, 0.0
	for _, l := range lines {
		for _, p := range l {
			w, h = max(w, p.X+240), max(h, p.Y+40)
		}
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f"><rect width="100%%" height="100%%" fill="white"/>`+"\n", w, h)
	for _, l := range lines {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555"/>`+"\n", l[0].X, l[0].Y, l[1].X, l[1].Y)
	}
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// TestCrossings counts what it says on segments drawn by hand.
func TestCrossings(t *testing.T) {
	x := [][]Point{{{0, 0}, {10, 10}}, {{0, 10}, {10, 0}}}
	assert.Equal(t, 1, Crossings(x))
	assert.Equal(t, 0, Crossings([][]Point{{{0, 0}, {10, 0}}, {{0, 5}, {10, 5}}}), "parallel")
	assert.Equal(t, 0, Crossings([][]Point{{{0, 0}, {10, 10}}, {{10, 10}, {20, 0}}}), "meeting at an end")
	assert.Equal(t, 2, Crossings([][]Point{{{0, 0}, {10, 10}, {20, 0}}, {{0, 6}, {20, 6}}}), "a polyline crossed twice")
	assert.Equal(t, 0, Crossings([][]Point{{{0, 0}, {10, 10}, {20, 0}}}), "one line's own segments")
}

func BenchmarkLayout(b *testing.B) {
	g := history()
	for b.Loop() {
		g.Layout()
	}
}
