package lineage

import (
	"fmt"
	"slices"
	"strings"
)

// A version used by thousands of runs has a lineage of thousands of runs:
// too many to lay out in time, and too many to read. Prune bounds the
// graph before any run is read, from the version links alone: it walks
// from the version a run at a time (to the runs that made it and the
// versions they used, upstream; to the runs that used it and the versions
// they made, downstream), and
//
//   - of the runs that touched one version the same way (made it, or used
//     it, in the same task: sibling runs, as many runs of one pipeline
//     are) draws the newest Limit.Runs and collapses the rest into one
//     item that says how many there are ("9,995 more runs of task train");
//   - stops Limit.Depth runs away from the version, marking each version
//     where it stopped with the number of runs beyond it ("more…");
//   - draws at most Limit.Total runs in all (the rest collapse likewise).
//
// Nothing is left out silently: every run not drawn is counted in a
// collapsed item or a version's More. A graph within the limits is drawn
// exactly as before.

// Limit bounds a version's lineage graph.
type Limit struct {
	// Depth is how many runs away from the version the graph reaches.
	Depth int
	// Runs is how many sibling runs (one version, one way, one task) are
	// drawn one by one; Total how many runs are drawn in all.
	Runs, Total int
}

// DefaultLimit is the bound the API draws with unless asked otherwise.
var DefaultLimit = Limit{Depth: 3, Runs: 5, Total: 40}

// KindRuns is an item standing for sibling runs not drawn one by one.
const KindRuns Kind = "runs"

// Collapsed is a group of sibling runs left out of the drawing: runs that
// made (Produced) or used Version in their task Task, beyond the Shown
// ones drawn.
type Collapsed struct {
	Version  Version
	Task     string
	Produced bool
	// Runs is how many were left out, Shown how many of the group are drawn.
	Runs, Shown int
}

// ID is the collapsed item's node ID: runs:VERSION/made|used/TASK.
func (c Collapsed) ID() string {
	return "runs:" + c.Version.ID() + "/" + c.how() + "/" + c.Task
}

func (c Collapsed) how() string {
	if c.Produced {
		return "made"
	}
	return "used"
}

// Pruned is what Prune keeps: the runs to draw, their links, the groups
// collapsed and the versions where the depth ran out (with the number of
// runs beyond each).
type Pruned struct {
	Runs      []string
	Links     []Link
	Collapsed []Collapsed
	More      map[Version]int
}

// LinkSource gives Prune the links it walks: a version's, oldest first as
// the store keeps them, and a run's.
type LinkSource interface {
	VersionLinks(v Version) ([]Link, error)
	RunLinks(id string) ([]Link, error)
}

// Prune bounds the lineage of focus (upstream when up) by lim, from the
// version links, oldest first as the store keeps them: of sibling runs the
// keep runs (the run that made focus) and then the newest are drawn.
func Prune(links []Link, focus Version, up bool, lim Limit, keep ...string) Pruned {
	src := linkSlice{onVersion: map[Version][]Link{}, ofRun: map[string][]Link{}}
	for _, l := range links {
		src.onVersion[l.Version] = append(src.onVersion[l.Version], l)
		src.ofRun[l.RunID] = append(src.ofRun[l.RunID], l)
	}
	p, _ := PruneFrom(src, focus, up, lim, keep...) // a slice never fails
	return p
}

type linkSlice struct {
	onVersion map[Version][]Link
	ofRun     map[string][]Link
}

func (s linkSlice) VersionLinks(v Version) ([]Link, error) { return s.onVersion[v], nil }
func (s linkSlice) RunLinks(id string) ([]Link, error)     { return s.ofRun[id], nil }

// PruneFrom is Prune reading the links it walks from src: the links of
// the versions it reaches and of the runs it draws, no others.
func PruneFrom(src LinkSource, focus Version, up bool, lim Limit, keep ...string) (Pruned, error) {
	lim = lim.orDefault()
	p := Pruned{More: map[Version]int{}}
	drawn := map[string]bool{}
	visited := map[Version]bool{focus: true}
	frontier := []Version{focus}
	for depth := 1; depth <= lim.Depth && len(frontier) > 0; depth++ {
		var next []Version
		for _, v := range frontier {
			links, err := src.VersionLinks(v)
			if err != nil {
				return Pruned{}, err
			}
			for _, g := range siblings(links, up, drawn, keep) {
				n := min(len(g.runs), lim.Runs, lim.Total-len(p.Runs))
				for _, id := range g.runs[:n] {
					drawn[id] = true
					p.Runs = append(p.Runs, id)
					rl, err := src.RunLinks(id)
					if err != nil {
						return Pruned{}, err
					}
					p.Links = append(p.Links, rl...)
					for _, l := range rl {
						if l.Produced != up && !visited[l.Version] {
							visited[l.Version] = true
							next = append(next, l.Version)
						}
					}
				}
				if rest := len(g.runs) - n; rest > 0 {
					p.Collapsed = append(p.Collapsed, Collapsed{Version: v, Task: g.task, Produced: up, Runs: rest, Shown: n})
				}
			}
		}
		frontier = next
	}
	for _, v := range frontier {
		links, err := src.VersionLinks(v)
		if err != nil {
			return Pruned{}, err
		}
		n := 0
		for _, g := range siblings(links, up, drawn, nil) {
			n += len(g.runs)
		}
		if n > 0 {
			p.More[v] = n
		}
	}
	slices.Sort(p.Runs)
	return p, nil
}

func (lim Limit) orDefault() Limit {
	if lim.Depth <= 0 {
		lim.Depth = DefaultLimit.Depth
	}
	if lim.Runs <= 0 {
		lim.Runs = DefaultLimit.Runs
	}
	if lim.Total <= 0 {
		lim.Total = max(DefaultLimit.Total, 8*lim.Runs)
	}
	return lim
}

type siblingGroup struct {
	task string
	runs []string // newest first
}

// siblings groups the runs of a version's links that made it (up) or used
// it, by task, the keep runs first then the newest, leaving out runs
// already drawn.
func siblings(links []Link, up bool, drawn map[string]bool, keep []string) []siblingGroup {
	var out []siblingGroup
	at := map[string]int{}
	seen := map[string]bool{}
	for i := len(links) - 1; i >= 0; i-- {
		l := links[i]
		if l.Produced != up || drawn[l.RunID] || seen[l.RunID] {
			continue
		}
		seen[l.RunID] = true
		j, ok := at[l.Task]
		if !ok {
			j = len(out)
			at[l.Task] = j
			out = append(out, siblingGroup{task: l.Task})
		}
		out[j].runs = append(out[j].runs, l.RunID)
	}
	for _, g := range out {
		slices.SortStableFunc(g.runs, func(a, b string) int {
			ka, kb := slices.Contains(keep, a), slices.Contains(keep, b)
			switch {
			case ka && !kb:
				return -1
			case kb && !ka:
				return 1
			}
			return 0
		})
	}
	slices.SortFunc(out, func(a, b siblingGroup) int { return strings.Compare(a.task, b.task) })
	return out
}

// Annotate adds to a graph built from p's runs what p left out: an item
// for each collapsed group, joined to its version, and each version's
// More. Groups on versions the graph does not hold are left out.
func (g *Graph) Annotate(p Pruned) {
	b := builder{nodes: map[string]Node{}, edges: map[Edge]bool{}}
	for _, n := range g.Nodes {
		if v, ok := versionOf(n); ok {
			n.More = p.More[v]
		}
		b.nodes[n.ID] = n
	}
	for _, e := range g.Edges {
		b.edges[e] = true
	}
	for _, c := range p.Collapsed {
		v := c.Version.ID()
		if _, ok := b.nodes[v]; !ok {
			continue
		}
		b.nodes[c.ID()] = Node{ID: c.ID(), Kind: KindRuns, Label: fmt.Sprintf("%d more runs of task %s", c.Runs, c.Task), Count: c.Runs,
			Params: map[string]string{"shown": fmt.Sprint(c.Shown), c.how(): v}}
		if c.Produced {
			b.edge(c.ID(), v, EdgeProduced)
		} else {
			b.edge(v, c.ID(), EdgeUsed)
		}
	}
	*g = *b.graph()
}

// versionOf reads a version node's Version.
func versionOf(n Node) (Version, bool) {
	if !IsVersion(n.Kind) {
		return Version{}, false
	}
	ref := strings.TrimPrefix(n.ID, string(n.Kind)+":")
	at := strings.LastIndex(ref, "@v")
	if at < 0 {
		return Version{}, false
	}
	var num int
	if _, err := fmt.Sscanf(ref[at+2:], "%d", &num); err != nil {
		return Version{}, false
	}
	return Version{Kind: n.Kind, Name: ref[:at], Version: num}, true
}
