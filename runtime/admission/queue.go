package admission

import (
	"fmt"
	"sort"
	"time"
)

// Node is a machine of a pool and its GPUs.
type Node struct {
	Name string
	GPUs int64
}

// Pool holds GPUs of one type on named nodes.
type Pool struct {
	Name, GPUType string
	Nodes         []Node
}

// Request is a run waiting in its group's pool.
type Request struct {
	Run   string
	Group string
	// Demand is the run's peak (PeakDemand).
	Demand Demand
	// MultiNode runs may spread one step over nodes (seed "Clustered Pools").
	MultiNode bool
	// StartAnyway admits the run at once, whatever is free; it reserves nothing.
	StartAnyway bool
	// Enqueued orders the queue (FIFO) and ages the request.
	Enqueued time.Time
}

// Allocation is a running run's GPUs, per node.
type Allocation struct {
	Run, Pool string
	Nodes     map[string]int64
}

// State is a snapshot: pools, which pool each group uses, what runs, what waits.
type State struct {
	Pools   []Pool
	Groups  map[string]string // group -> pool
	Running []Allocation
	Queue   []Request
}

// Options tune the decision.
type Options struct {
	// Aging: a request that has waited this long may no longer be passed by
	// later requests of its pool, so the pool drains until it fits. Zero
	// means 10 minutes.
	Aging time.Duration
}

// Decision is what to start now and why the others wait.
type Decision struct {
	Admit   []Allocation
	Waiting map[string]string // run -> reason
}

// Decide admits queued runs against a snapshot, pool by pool, in FIFO order:
// a run starts when its pool has its peak GPUs free (with its largest step on
// one node unless multi-node). A later run may start ahead of an earlier one
// that does not fit (skip-ahead), unless that earlier run has waited longer
// than the aging limit: then no later run of its pool starts before it, so
// finishing runs free GPUs for it and nothing waits forever. StartAnyway runs
// start at once and reserve nothing.
func Decide(s State, now time.Time, opts Options) Decision {
	if opts.Aging == 0 {
		opts.Aging = 10 * time.Minute
	}
	// 1. Take a snapshot of free GPUs per pool and node.
	free := map[string]map[string]int64{}
	types := map[string]string{}
	for _, p := range s.Pools {
		free[p.Name] = map[string]int64{}
		types[p.Name] = p.GPUType
		for _, n := range p.Nodes {
			free[p.Name][n.Name] += n.GPUs
		}
	}
	for _, a := range s.Running {
		if free[a.Pool] == nil {
			continue // its pool was deleted: nothing to take from
		}
		for node, g := range a.Nodes {
			free[a.Pool][node] -= g
		}
	}
	// 2. Walk the queue in FIFO order.
	queue := append([]Request(nil), s.Queue...)
	sort.SliceStable(queue, func(i, j int) bool { return queue[i].Enqueued.Before(queue[j].Enqueued) })
	d := Decision{Waiting: map[string]string{}}
	blocked := map[string]string{} // pool -> the aged run it drains for
	for _, r := range queue {
		pool, ok := s.Groups[r.Group]
		if !ok || free[pool] == nil {
			d.Waiting[r.Run] = fmt.Sprintf("group %q has no pool", r.Group)
			continue
		}
		if r.StartAnyway {
			d.Admit = append(d.Admit, Allocation{Run: r.Run, Pool: pool, Nodes: map[string]int64{}})
			continue
		}
		if head, ok := blocked[pool]; ok {
			d.Waiting[r.Run] = fmt.Sprintf("waits behind %s, which has waited longest in pool %s", head, pool)
			continue
		}
		// 3. Place it, or say why it waits.
		nodes, reason := place(free[pool], r, types[pool], pool)
		if nodes == nil {
			d.Waiting[r.Run] = reason
			if now.Sub(r.Enqueued) >= opts.Aging {
				blocked[pool] = r.Run
			}
			continue
		}
		for n, g := range nodes {
			free[pool][n] -= g
		}
		d.Admit = append(d.Admit, Allocation{Run: r.Run, Pool: pool, Nodes: nodes})
	}
	return d
}

// place finds GPUs for r on a pool's free nodes: its largest step on one
// node (unless multi-node), the rest anywhere. Nil and a reason when it
// does not fit.
func place(free map[string]int64, r Request, gpuType, pool string) (map[string]int64, string) {
	need, step := r.Demand.GPUs, r.Demand.LargestStep
	out := map[string]int64{}
	if need == 0 {
		return out, ""
	}
	names := make([]string, 0, len(free))
	var total, biggest int64
	for n, g := range free {
		names = append(names, n)
		total += g
		biggest = max(biggest, g)
	}
	sort.Strings(names)
	if r.MultiNode {
		step = 0
	}
	if step > biggest || need > total {
		if step > biggest {
			return nil, fmt.Sprintf("needs %d × %s on one node; pool %s has at most %d free on a node (%d in all)", step, gpuType, pool, biggest, total)
		}
		return nil, fmt.Sprintf("needs %d × %s; pool %s has %d free", need, gpuType, pool, total)
	}
	left := free
	if step > 0 {
		// Best fit: the node with the fewest free GPUs that holds the step.
		best := ""
		for _, n := range names {
			if free[n] >= step && (best == "" || free[n] < free[best]) {
				best = n
			}
		}
		out[best] = step
		need -= step
		left = map[string]int64{}
		for n, g := range free {
			left[n] = g - out[n]
		}
	}
	for _, n := range names {
		if need == 0 {
			break
		}
		take := min(left[n], need)
		if take > 0 {
			out[n] += take
			need -= take
		}
	}
	return out, ""
}
