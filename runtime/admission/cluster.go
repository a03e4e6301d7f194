package admission

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
)

// DefaultPool is the pool that holds every GPU not given to another pool.
// It always exists and cannot be deleted.
const DefaultPool = "default"

// ClusterNode is a machine of the cluster with its GPUs, all of one type.
type ClusterNode struct {
	Name, GPUType string
	GPUs          int64
}

// ValidatePools checks operator-made pools against the cluster and reports
// every problem at once, each at its field: a pool has a name that is not
// "default", nodes of the cluster, one GPU type (its nodes' type), positive
// counts, and no node gives more GPUs to pools than it has.
func ValidatePools(cluster []ClusterNode, pools []Pool) error {
	nodes := map[string]ClusterNode{}
	for _, n := range cluster {
		nodes[n.Name] = n
	}
	given := map[string]int64{}
	seen := map[string]bool{}
	var errs []error
	for i, p := range pools {
		at := fmt.Sprintf("pools[%d]", i)
		switch {
		case p.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: is required", at))
		case p.Name == DefaultPool:
			errs = append(errs, fmt.Errorf("%s.name: %q is the default pool, which holds every GPU not given to another pool", at, p.Name))
		case seen[p.Name]:
			errs = append(errs, fmt.Errorf("%s.name: pool %q is defined twice", at, p.Name))
		}
		seen[p.Name] = true
		if len(p.Nodes) == 0 {
			errs = append(errs, fmt.Errorf("%s.nodes: a pool needs at least one node", at))
		}
		for j, n := range p.Nodes {
			nat := fmt.Sprintf("%s.nodes[%d]", at, j)
			cn, ok := nodes[n.Name]
			switch {
			case !ok:
				errs = append(errs, fmt.Errorf("%s.name: the cluster has no node %q", nat, n.Name))
				continue
			case n.GPUs <= 0:
				errs = append(errs, fmt.Errorf("%s.gpus: must be positive, got %d", nat, n.GPUs))
			case p.GPUType != "" && cn.GPUType != p.GPUType:
				errs = append(errs, fmt.Errorf("%s.name: node %q has %s GPUs, the pool holds %s", nat, n.Name, cn.GPUType, p.GPUType))
			}
			given[n.Name] += n.GPUs
		}
	}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if have, ok := nodes[name]; ok && given[name] > have.GPUs {
			errs = append(errs, fmt.Errorf("pools: node %q has %d GPUs, the pools are given %d", name, have.GPUs, given[name]))
		}
	}
	return errors.Join(errs...)
}

// WithDefault returns the default pool followed by pools (sorted by name):
// the default pool holds, on every node, the GPUs the other pools were not
// given, so the totals of all pools add up to the cluster's GPUs. Its type
// is the cluster's GPU type ("a100+t4" when the cluster mixes types).
func WithDefault(cluster []ClusterNode, pools []Pool) []Pool {
	given := map[string]int64{}
	for _, p := range pools {
		for _, n := range p.Nodes {
			given[n.Name] += n.GPUs
		}
	}
	def := Pool{Name: DefaultPool}
	types := map[string]bool{}
	for _, n := range cluster {
		types[n.GPUType] = true
		if left := n.GPUs - given[n.Name]; left > 0 {
			def.Nodes = append(def.Nodes, Node{Name: n.Name, GPUs: left})
		}
	}
	def.GPUType = strings.Join(slices.Sorted(maps.Keys(types)), "+")
	if def.GPUType == "" {
		def.GPUType = "gpu"
	}
	rest := append([]Pool(nil), pools...)
	sort.SliceStable(rest, func(i, j int) bool { return rest[i].Name < rest[j].Name })
	return append([]Pool{def}, rest...)
}

// TypeOf returns the GPU type of the named nodes, "" when they mix types or
// one is not in the cluster.
func TypeOf(cluster []ClusterNode, nodes []Node) string {
	typ := ""
	for _, n := range nodes {
		i := slices.IndexFunc(cluster, func(c ClusterNode) bool { return c.Name == n.Name })
		if i < 0 || (typ != "" && cluster[i].GPUType != typ) {
			return ""
		}
		typ = cluster[i].GPUType
	}
	return typ
}

// ReconcilePools fits operator-made pools to the cluster as it is now (the
// server's --gpus may have changed since they were made): a node no longer
// in the cluster, or now holding GPUs of another type, leaves its pools; a
// node given more GPUs than it has is shrunk, pools taken in name order
// keeping what fits. It returns the pools that changed and a sentence per
// change, so the totals add up to the cluster again. A pool left without
// nodes is kept, empty, for its groups.
func ReconcilePools(cluster []ClusterNode, pools []Pool) (changed []Pool, notes []string) {
	nodes := map[string]ClusterNode{}
	for _, n := range cluster {
		nodes[n.Name] = n
	}
	left := map[string]int64{}
	for _, n := range cluster {
		left[n.Name] = n.GPUs
	}
	sorted := append([]Pool(nil), pools...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, p := range sorted {
		fixed := Pool{Name: p.Name, GPUType: p.GPUType}
		var says []string
		for _, n := range p.Nodes {
			cn, ok := nodes[n.Name]
			switch {
			case !ok:
				says = append(says, fmt.Sprintf("node %q is no longer in the cluster: its %d GPUs leave the pool", n.Name, n.GPUs))
				continue
			case p.GPUType != "" && cn.GPUType != p.GPUType:
				says = append(says, fmt.Sprintf("node %q now has %s GPUs, the pool holds %s: its %d GPUs leave the pool", n.Name, cn.GPUType, p.GPUType, n.GPUs))
				continue
			case left[n.Name] < n.GPUs:
				keep := left[n.Name]
				says = append(says, fmt.Sprintf("node %q has %d GPUs left for it, not %d: the pool keeps %d", n.Name, keep, n.GPUs, keep))
				if keep <= 0 {
					continue
				}
				n.GPUs = keep
			}
			left[n.Name] -= n.GPUs
			fixed.Nodes = append(fixed.Nodes, n)
		}
		if len(says) == 0 {
			continue
		}
		if len(fixed.Nodes) == 0 {
			says = append(says, fmt.Sprintf("it now holds no GPUs: give it nodes with `kubeline pools update %s --nodes NODE=GPUS,...`", p.Name))
		}
		changed = append(changed, fixed)
		notes = append(notes, fmt.Sprintf("pool %s: %s", p.Name, strings.Join(says, "; ")))
	}
	return changed, notes
}
