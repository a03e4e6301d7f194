package lineage

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Kind is what a node stands for.
type Kind string

// Node kinds.
const (
	KindRun      Kind = "run"
	KindTask     Kind = "task"
	KindArtifact Kind = "artifact"
	KindDataset  Kind = "dataset"
	KindModel    Kind = "model"
	// KindCode is a code version (a git commit or a directory's content),
	// KindFeatureSet a featureset version (data checked against declared
	// features).
	KindCode       Kind = "code"
	KindFeatureSet Kind = "featureset"
)

// VersionKinds are the kinds of version nodes.
var VersionKinds = []Kind{KindDataset, KindFeatureSet, KindCode, KindModel}

// IsVersion reports whether k is a kind of version.
func IsVersion(k Kind) bool { return slices.Contains(VersionKinds, k) }

// Edge kinds: a run ran a task; an artifact was a task's input or output;
// a task's output artifact became a version (Produced); a version was
// imported as an artifact, or given to a task as a parameter (Used).
const (
	EdgeRan      = "ran"
	EdgeInput    = "input"
	EdgeOutput   = "output"
	EdgeProduced = "produced"
	EdgeUsed     = "used"
)

// Node is one vertex. IDs are kind-prefixed: run:ID, task:RUN/NODE,
// artifact:KEY, and KIND:NAME@vN for versions (dataset, model, code,
// featureset).
type Node struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Label string `json:"label"`
	Run   string `json:"run,omitempty"`
	Phase string `json:"phase,omitempty"`
	// Params are the parameters a task received, or a run's arguments.
	Params map[string]string `json:"params,omitempty"`
	// Metrics are a run's metrics, TASK.NAME → value.
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Made are the versions a run produced (NAME@vN).
	Made []string `json:"made,omitempty"`
	// Commit is a code version's git commit ("" for a directory's).
	Commit string `json:"commit,omitempty"`
	// Count is how many runs a collapsed item (KindRuns) stands for; More
	// how many runs beyond a version the bounded graph did not follow.
	Count int `json:"count,omitempty"`
	More  int `json:"more,omitempty"`
}

// Edge is a directed edge, in the direction data flows.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"`
}

// Graph is a lineage graph: nodes sorted by ID, edges by (From, To).
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Run is one run as lineage reads it.
type Run struct {
	ID, Name string
	Workflow *wfv1.Workflow
	// Metrics are the run's metrics, TASK.NAME → value.
	Metrics map[string]float64
}

// Version names a dataset, model, code or featureset version.
type Version struct {
	Kind    Kind // one of VersionKinds
	Name    string
	Version int
}

// ID is the version's node ID.
func (v Version) ID() string { return fmt.Sprintf("%s:%s@v%d", v.Kind, v.Name, v.Version) }

// Link ties a version to an artifact of a run: Produced when the run's
// artifact (key) became the version (or had its content), otherwise the run
// imported the version as that artifact — or, for a key param:NODE/NAME,
// gave it to the run's step NODE as its parameter NAME.
type Link struct {
	Version  Version
	RunID    string
	Key      string
	Produced bool
	// Task is the KFP task that used or made the version (Prune groups
	// sibling runs by it).
	Task string
}

// TaskParam is the input parameter carrying a step's KFP task name.
const TaskParam = "kubeline-task"

// Build makes the graph of runs and links.
func Build(runs []Run, links []Link) *Graph {
	b := builder{nodes: map[string]Node{}, edges: map[Edge]bool{}}
	for _, r := range runs {
		b.run(r)
	}
	for _, l := range links {
		v := l.Version.ID()
		b.node(Node{ID: v, Kind: l.Version.Kind, Label: fmt.Sprintf("%s %s@v%d", l.Version.Kind, l.Version.Name, l.Version.Version)})
		if node, _, ok := paramOf(l.Key); ok && !l.Produced {
			b.edge(v, "task:"+l.RunID+"/"+node, EdgeUsed)
			continue
		}
		a := artifactID(l.Key)
		b.node(Node{ID: a, Kind: KindArtifact, Label: artifactLabel(l.Key), Run: l.RunID})
		if l.Produced {
			b.edge(a, v, EdgeProduced)
			if r, ok := b.nodes["run:"+l.RunID]; ok {
				made := fmt.Sprintf("%s@v%d", l.Version.Name, l.Version.Version)
				if !slices.Contains(r.Made, made) {
					r.Made = append(r.Made, made)
					slices.Sort(r.Made)
					b.nodes[r.ID] = r
				}
			}
		} else {
			b.edge(v, a, EdgeUsed)
		}
	}
	return b.graph()
}

// paramOf reads a link key param:NODE/PARAMETER.
func paramOf(key string) (node, param string, ok bool) {
	rest, ok := strings.CutPrefix(key, "param:")
	if !ok {
		return "", "", false
	}
	node, param, ok = strings.Cut(rest, "/")
	return node, param, ok
}

type builder struct {
	nodes map[string]Node
	edges map[Edge]bool
}

func (b *builder) node(n Node) {
	if old, ok := b.nodes[n.ID]; ok && n.Run == "" {
		n.Run = old.Run
	}
	b.nodes[n.ID] = n
}

func (b *builder) edge(from, to, kind string) { b.edges[Edge{From: from, To: to, Kind: kind}] = true }

func artifactID(key string) string { return "artifact:" + key }

// artifactLabel is the last two segments of an artifact key (POD/NAME).
func artifactLabel(key string) string {
	parts := strings.Split(strings.TrimSuffix(key, "/"), "/")
	if len(parts) >= 2 {
		return parts[len(parts)-1]
	}
	return key
}

// run adds a run, its steps, and the artifacts they read and wrote.
func (b *builder) run(r Run) {
	rid := "run:" + r.ID
	label := r.Name
	if label == "" {
		label = r.ID
	}
	phase := ""
	if r.Workflow != nil {
		phase = string(r.Workflow.Status.Phase)
	}
	run := Node{ID: rid, Kind: KindRun, Label: "run " + label, Run: r.ID, Phase: phase, Metrics: r.Metrics}
	if r.Workflow != nil {
		for _, p := range r.Workflow.Spec.Arguments.Parameters {
			if p.Value != nil {
				if run.Params == nil {
					run.Params = map[string]string{}
				}
				run.Params[p.Name] = p.Value.String()
			}
		}
	}
	b.node(run)
	if r.Workflow == nil {
		return
	}
	for id, n := range r.Workflow.Status.Nodes {
		if n.Type != wfv1.NodeTypePod {
			continue
		}
		tid := "task:" + r.ID + "/" + id
		task := Node{ID: tid, Kind: KindTask, Label: n.DisplayName, Run: r.ID, Phase: string(n.Phase)}
		if n.Inputs != nil {
			for _, p := range n.Inputs.Parameters {
				if p.Value == nil {
					continue
				}
				if p.Name == TaskParam {
					task.Label = p.Value.String()
					continue
				}
				if task.Params == nil {
					task.Params = map[string]string{}
				}
				task.Params[p.Name] = p.Value.String()
			}
			for _, a := range n.Inputs.Artifacts {
				if a.S3 != nil && a.S3.Key != "" {
					b.node(Node{ID: artifactID(a.S3.Key), Kind: KindArtifact, Label: artifactLabel(a.S3.Key)})
					b.edge(artifactID(a.S3.Key), tid, EdgeInput)
				}
			}
		}
		b.node(task)
		b.edge(rid, tid, EdgeRan)
		if n.Outputs != nil {
			for _, a := range n.Outputs.Artifacts {
				if a.S3 != nil && a.S3.Key != "" {
					b.node(Node{ID: artifactID(a.S3.Key), Kind: KindArtifact, Label: artifactLabel(a.S3.Key), Run: r.ID})
					b.edge(tid, artifactID(a.S3.Key), EdgeOutput)
				}
			}
		}
	}
}

func (b *builder) graph() *Graph {
	g := &Graph{Nodes: make([]Node, 0, len(b.nodes)), Edges: make([]Edge, 0, len(b.edges))}
	for _, n := range b.nodes {
		g.Nodes = append(g.Nodes, n)
	}
	for e := range b.edges {
		g.Edges = append(g.Edges, e)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	sort.Slice(g.Edges, func(i, j int) bool {
		if g.Edges[i].From != g.Edges[j].From {
			return g.Edges[i].From < g.Edges[j].From
		}
		return g.Edges[i].To < g.Edges[j].To
	})
	return g
}

// Node returns the node with id.
func (g *Graph) Node(id string) (Node, bool) {
	i, ok := slices.BinarySearchFunc(g.Nodes, id, func(n Node, id string) int { return strings.Compare(n.ID, id) })
	if !ok {
		return Node{}, false
	}
	return g.Nodes[i], true
}

// Upstream is the subgraph of everything id came from: following data
// edges backwards (a task's inputs, the version an artifact was imported
// from, back to raw datasets), with the runs that ran the tasks.
func (g *Graph) Upstream(id string) (*Graph, error) { return g.walk(id, true) }

// Downstream is the subgraph of everything made from id: the artifacts it
// was imported as, the tasks that read them, what they wrote and the
// versions that became, with the runs that ran the tasks.
func (g *Graph) Downstream(id string) (*Graph, error) { return g.walk(id, false) }

func (g *Graph) walk(id string, up bool) (*Graph, error) {
	if _, ok := g.Node(id); !ok {
		return nil, fmt.Errorf("lineage: no %s", id)
	}
	next := map[string][]Edge{}
	for _, e := range g.Edges {
		if e.Kind == EdgeRan {
			continue
		}
		if up {
			next[e.To] = append(next[e.To], e)
		} else {
			next[e.From] = append(next[e.From], e)
		}
	}
	b := builder{nodes: map[string]Node{}, edges: map[Edge]bool{}}
	seen := map[string]bool{id: true}
	queue := []string{id}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		n, _ := g.Node(cur)
		b.nodes[cur] = n
		for _, e := range next[cur] {
			b.edges[e] = true
			other := e.From
			if !up {
				other = e.To
			}
			if !seen[other] {
				seen[other] = true
				queue = append(queue, other)
			}
		}
	}
	// The runs that ran the tasks found.
	for _, e := range g.Edges {
		if e.Kind == EdgeRan && seen[e.To] {
			n, _ := g.Node(e.From)
			b.nodes[e.From] = n
			b.edges[e] = true
		}
	}
	return b.graph(), nil
}

// Runs lists the runs in the graph, by ID.
func (g *Graph) Runs() []Node {
	var out []Node
	for _, n := range g.Nodes {
		if n.Kind == KindRun {
			out = append(out, n)
		}
	}
	return out
}

// Of lists the graph's nodes of kind k, by ID.
func (g *Graph) Of(k Kind) []Node {
	var out []Node
	for _, n := range g.Nodes {
		if n.Kind == k {
			out = append(out, n)
		}
	}
	return out
}
