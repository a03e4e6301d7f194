package lineage

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tenThousand is 10,000 runs of one training pipeline: each imported
// d@v1 and trained a model; r00000 made m@v1, and every later run
// trained the same content again (so it produced m@v1 too), oldest first
// as the store keeps links.
func tenThousand() []Link {
	d, m := Version{KindDataset, "d", 1}, Version{KindModel, "m", 1}
	var links []Link
	for i := range 10000 {
		id := fmt.Sprintf("r%05d", i)
		links = append(links, Link{Version: d, RunID: id, Key: "kubeline/" + id + "/imp/artifact", Task: "importer"},
			Link{Version: m, RunID: id, Key: "kubeline/" + id + "/train/model", Produced: true, Task: "train"})
	}
	return links
}

// boundedGraph is what the API draws: the pruned runs read, the graph
// built and walked, what was left out added.
func boundedGraph(t *testing.T, links []Link, focus Version, up bool, keep ...string) (*Graph, Pruned) {
	t.Helper()
	p := Prune(links, focus, up, DefaultLimit, keep...)
	var runs []Run
	for _, id := range p.Runs {
		runs = append(runs, trainRun(id, "0.1"))
	}
	g := Build(runs, p.Links)
	var err error
	if up {
		g, err = g.Upstream(focus.ID())
	} else {
		g, err = g.Downstream(focus.ID())
	}
	require.NoError(t, err)
	g.Annotate(p)
	return g, p
}

var dataID = regexp.MustCompile(`<g class="node ([a-z]+)" data-id="([^"]+)"`)

// drawnIDs are the data-id of the SVG's linked boxes (what the console
// turns into links), by class.
func drawnIDs(svg []byte) map[string][]string {
	out := map[string][]string{}
	for _, m := range dataID.FindAllSubmatch(svg, -1) {
		out[string(m[1])] = append(out[string(m[1])], string(m[2]))
	}
	return out
}

// TestBoundedLineageOf10000Runs: the lineage of a model 10,000 runs
// trained (and of the dataset they all used) is drawn bounded — the run
// that made the model and the dataset version it was trained on still
// there to click, the other runs one item that counts them.
func TestBoundedLineageOf10000Runs(t *testing.T) {
	links := tenThousand()
	m, d := Version{KindModel, "m", 1}, Version{KindDataset, "d", 1}

	g, p := boundedGraph(t, links, m, true, "r00000")
	require.LessOrEqual(t, len(p.Runs), DefaultLimit.Runs)
	assert.Contains(t, p.Runs, "r00000", "the run that made m@v1 is drawn whatever the bound")
	assert.Equal(t, []Collapsed{{Version: m, Task: "train", Produced: true, Runs: 10000 - DefaultLimit.Runs, Shown: DefaultLimit.Runs}}, p.Collapsed)
	svg := g.SVG()
	drawn := drawnIDs(svg)
	assert.Contains(t, drawn["run"], "run:r00000", "the training run links")
	assert.Contains(t, drawn["dataset"], "dataset:d@v1", "the dataset version links")
	assert.Equal(t, []string{"runs:model:m@v1/made/train"}, drawn["runs"])
	assert.Len(t, drawn["run"], DefaultLimit.Runs)
	assert.Contains(t, string(svg), "9995 more runs of task train", "the collapsed item says how many")
	group, ok := g.Node("runs:model:m@v1/made/train")
	require.True(t, ok)
	assert.Equal(t, 9995, group.Count)
	assert.Contains(t, string(g.Tree(m.ID(), true)), "made by 9995 more runs of task train")

	g, p = boundedGraph(t, links, d, false)
	assert.LessOrEqual(t, len(p.Runs), DefaultLimit.Total)
	drawn = drawnIDs(g.SVG())
	assert.Equal(t, []string{"runs:dataset:d@v1/used/importer"}, drawn["runs"])
	assert.Contains(t, drawn["model"], "model:m@v1")
	assert.Len(t, drawn["run"], DefaultLimit.Runs, "the newest runs")
	assert.Contains(t, drawn["run"], "run:r09999")
	n, _ := g.Node("runs:dataset:d@v1/used/importer")
	assert.Equal(t, 10000-DefaultLimit.Runs, n.Count, "every run not drawn is counted")
}

// TestPruneDepth: a chain of versions each made from the one before
// stops Depth runs away, and the version where it stopped says how many
// runs lie beyond it.
func TestPruneDepth(t *testing.T) {
	var links []Link
	for i := range 6 {
		id := fmt.Sprintf("c%d", i)
		links = append(links, Link{Version: Version{KindDataset, "v", i}, RunID: id, Key: "kubeline/" + id + "/imp/artifact", Task: "importer"},
			Link{Version: Version{KindDataset, "v", i + 1}, RunID: id, Key: "kubeline/" + id + "/train/model", Produced: true, Task: "train"})
	}
	p := Prune(links, Version{KindDataset, "v", 0}, false, Limit{Depth: 3})
	assert.Equal(t, []string{"c0", "c1", "c2"}, p.Runs)
	assert.Equal(t, map[Version]int{{KindDataset, "v", 3}: 1}, p.More)
	g, _ := boundedGraph(t, links, Version{KindDataset, "v", 0}, false)
	n, ok := g.Node("dataset:v@v3")
	require.True(t, ok)
	assert.Equal(t, 1, n.More)
	assert.Contains(t, string(g.SVG()), `data-id="dataset:v@v3" data-more="1"`)
	assert.Contains(t, string(g.Tree("dataset:v@v0", false)), "dataset v@v3 (more… 1 runs beyond")
	p = Prune(links, Version{KindDataset, "v", 0}, false, Limit{Depth: 10})
	assert.Len(t, p.Runs, 6)
	assert.Empty(t, p.More)
}

// TestPruneWithinLimitsChangesNothing: history's lineage graphs — every
// version, both ways — are within the default bound, and drawn from the
// pruned runs they are the graphs (and pictures) of every run.
func TestPruneWithinLimitsChangesNothing(t *testing.T) {
	runs, links := historyRecords()
	full := Build(runs, links)
	byID := map[string]Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	checked := 0
	for _, n := range full.Nodes {
		v, ok := versionOf(n)
		if !ok {
			continue
		}
		for _, up := range []bool{true, false} {
			p := Prune(links, v, up, DefaultLimit)
			require.Empty(t, p.Collapsed, "%s up=%v", v.ID(), up)
			require.Empty(t, p.More, "%s up=%v", v.ID(), up)
			var some []Run
			for _, id := range p.Runs {
				some = append(some, byID[id])
			}
			want, err := full.walk(v.ID(), up)
			require.NoError(t, err)
			got := Build(some, p.Links)
			if _, ok := got.Node(v.ID()); ok {
				got, err = got.walk(v.ID(), up)
				require.NoError(t, err)
			} else { // no run drawn: the version alone, as versioning draws it
				got = &Graph{Nodes: []Node{{ID: v.ID(), Kind: v.Kind, Label: fmt.Sprintf("%s %s@v%d", v.Kind, v.Name, v.Version)}}}
			}
			got.Annotate(p)
			if d := cmp.Diff(want, got); d != "" {
				t.Fatalf("%s up=%v: the pruned graph differs (-all runs +pruned):\n%s", v.ID(), up, d)
			}
			require.Equal(t, string(want.SVG()), string(got.SVG()))
			checked++
		}
	}
	assert.Greater(t, checked, 40)
	assert.True(t, slices.ContainsFunc(full.Nodes, func(n Node) bool { return strings.HasPrefix(n.ID, "model:") }))
}

// BenchmarkBoundedLineage times the whole drawing of the lineage of d@v1,
// which 10,000 runs used, from its links: prune, build from the runs
// drawn, walk, add what was left out, lay out, write the SVG — at the
// default bound and at the widest the API allows (runs=50: 200 runs).
func BenchmarkBoundedLineage(b *testing.B) {
	links := tenThousand()
	d := Version{KindDataset, "d", 1}
	for _, lim := range []Limit{DefaultLimit, {Depth: 50, Runs: 50, Total: 200}} {
		b.Run(fmt.Sprintf("runs=%d,total=%d", lim.Runs, lim.Total), func(b *testing.B) {
			for range b.N {
				p := Prune(links, d, false, lim)
				var runs []Run
				for _, id := range p.Runs {
					runs = append(runs, trainRun(id, "0.1"))
				}
				g, err := Build(runs, p.Links).Downstream(d.ID())
				if err != nil {
					b.Fatal(err)
				}
				g.Annotate(p)
				if svg := g.SVG(); !strings.Contains(string(svg), "runs:dataset:d@v1/used/importer") {
					b.Fatal("no collapsed item drawn")
				}
			}
		})
	}
}
