package main

import (
	"regexp"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// iterationName matches Argo's name of a loop iteration: NAME(INDEX:ITEM).
var iterationName = regexp.MustCompile(`^(.*)\((\d+):(.*)\)$`)

// iteration is one loop iteration a step runs in.
type iteration struct {
	index int
	item  string
}

// treeNode is what progress keeps of a node to name and order the steps
// under it: its name, display name and template boundary (a few strings,
// not the whole status, for every node of the run).
type treeNode struct{ name, display, boundary string }

// nodeTree is every node seen, by id.
type nodeTree map[string]treeNode

func slim(n wfv1.NodeStatus) treeNode {
	return treeNode{name: n.Name, display: n.DisplayName, boundary: n.BoundaryID}
}

// iterations are the loop iterations around node n, outermost first, found
// by walking its template boundaries up (a KFP ParallelFor body is a DAG per
// iteration named like for-loop-4(2:3)); a step that is itself an
// iteration, square(0:1), counts too.
func iterations(n treeNode, nodes nodeTree) []iteration {
	var out []iteration
	var seen []string // the boundaries walked: a few
	for cur := n; ; {
		if m := iterationName.FindStringSubmatch(cur.display); m != nil {
			i, _ := strconv.Atoi(m[2])
			out = append(out, iteration{i, m[3]})
		}
		if cur.boundary == "" || contains(seen, cur.boundary) {
			break
		}
		seen = append(seen, cur.boundary)
		next, ok := nodes[cur.boundary]
		if !ok {
			break
		}
		cur = next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// stepName is how progress names a step: its display name, and for a step
// in a loop the item of each iteration (its index when the item is long),
// so five runs of `square` read square [1] … square [5].
func stepName(n wfv1.NodeStatus, nodes nodeTree) string {
	return keyOf(n, nodes).name()
}

// iterationIndex matches the (INDEX:ITEM) parts of a node's name.
var iterationIndex = regexp.MustCompile(`\(\d+:[^()]*\)`)

// stepKey is a step with what naming and ordering it take, worked out once
// per step rather than once per comparison of a sort.
type stepKey struct {
	n    wfv1.NodeStatus
	loop string      // the node's name without its iterations' (INDEX:ITEM)
	its  []iteration // iterations(n)
}

func keyOf(n wfv1.NodeStatus, nodes nodeTree) stepKey {
	return stepKey{n: n, loop: iterationIndex.ReplaceAllString(n.Name, "()"), its: iterations(slim(n), nodes)}
}

func (k stepKey) name() string {
	name := k.n.DisplayName
	if m := iterationName.FindStringSubmatch(name); m != nil {
		name = m[1]
	}
	if len(k.its) == 0 {
		return name
	}
	parts := make([]string, len(k.its))
	for i, it := range k.its {
		if len(it.item) > 24 || it.item == "" {
			parts[i] = "#" + strconv.Itoa(it.index)
		} else {
			parts[i] = it.item
		}
	}
	return name + " [" + strings.Join(parts, ", ") + "]"
}

// stepBefore orders progress lines: by start, except that the iterations
// of one loop come in the loop's order (they start together), so its
// Running lines read square [1], square [2], ...
func stepBefore(a, b stepKey) bool {
	if a.loop == b.loop {
		for k := 0; k < len(a.its) && k < len(b.its); k++ {
			if a.its[k].index != b.its[k].index {
				return a.its[k].index < b.its[k].index
			}
		}
	}
	if !a.n.StartedAt.Equal(&b.n.StartedAt) {
		return a.n.StartedAt.Before(&b.n.StartedAt)
	}
	return a.n.Name < b.n.Name
}
