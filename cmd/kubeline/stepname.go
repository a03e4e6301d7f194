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

// iterations are the loop iterations around node n, outermost first, found
// by walking its template boundaries up (a KFP ParallelFor body is a DAG per
// iteration named like for-loop-4(2:3)); a step that is itself an
// iteration, square(0:1), counts too.
func iterations(n wfv1.NodeStatus, nodes wfv1.Nodes) []iteration {
	var out []iteration
	seen := map[string]bool{}
	for cur := n; ; {
		if m := iterationName.FindStringSubmatch(cur.DisplayName); m != nil {
			i, _ := strconv.Atoi(m[2])
			out = append([]iteration{{i, m[3]}}, out...)
		}
		if cur.BoundaryID == "" || seen[cur.BoundaryID] {
			return out
		}
		seen[cur.BoundaryID] = true
		next, ok := nodes[cur.BoundaryID]
		if !ok {
			return out
		}
		cur = next
	}
}

// stepName is how progress names a step: its display name, and for a step
// in a loop the item of each iteration (its index when the item is long),
// so five runs of `square` read square [1] … square [5].
func stepName(n wfv1.NodeStatus, nodes wfv1.Nodes) string {
	its := iterations(n, nodes)
	name := n.DisplayName
	if m := iterationName.FindStringSubmatch(name); m != nil {
		name = m[1]
	}
	if len(its) == 0 {
		return name
	}
	parts := make([]string, len(its))
	for i, it := range its {
		if len(it.item) > 24 || it.item == "" {
			parts[i] = "#" + strconv.Itoa(it.index)
		} else {
			parts[i] = it.item
		}
	}
	return name + " [" + strings.Join(parts, ", ") + "]"
}

// iterationIndex matches the (INDEX:ITEM) parts of a node's name.
var iterationIndex = regexp.MustCompile(`\(\d+:[^()]*\)`)

// stepBefore orders progress lines: by start, except that the iterations
// of one loop come in the loop's order (they start together), so its
// Running lines read square [1], square [2], ...
func stepBefore(a, b wfv1.NodeStatus, nodes wfv1.Nodes) bool {
	if iterationIndex.ReplaceAllString(a.Name, "()") == iterationIndex.ReplaceAllString(b.Name, "()") {
		ia, ib := iterations(a, nodes), iterations(b, nodes)
		for k := 0; k < len(ia) && k < len(ib); k++ {
			if ia[k].index != ib[k].index {
				return ia[k].index < ib[k].index
			}
		}
	}
	if !a.StartedAt.Equal(&b.StartedAt) {
		return a.StartedAt.Before(&b.StartedAt)
	}
	return a.Name < b.Name
}
