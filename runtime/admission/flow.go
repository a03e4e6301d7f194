package admission

// A small max-flow (Dinic) for the weighted antichain computation.

const inf = int64(1) << 50

type edge struct {
	to, rev int
	cap     int64
}

type network struct {
	g     [][]edge
	level []int
	it    []int
}

func newNetwork(n int) *network { return &network{g: make([][]edge, n)} }

// add adds an edge and returns its position for later inspection.
func (n *network) add(from, to int, cap int64) (int, int) {
	n.g[from] = append(n.g[from], edge{to: to, rev: len(n.g[to]), cap: cap})
	n.g[to] = append(n.g[to], edge{to: from, rev: len(n.g[from]) - 1})
	return from, len(n.g[from]) - 1
}

func (n *network) bfs(s, t int) bool {
	n.level = make([]int, len(n.g))
	for i := range n.level {
		n.level[i] = -1
	}
	n.level[s] = 0
	q := []int{s}
	for len(q) > 0 {
		v := q[0]
		q = q[1:]
		for _, e := range n.g[v] {
			if e.cap > 0 && n.level[e.to] < 0 {
				n.level[e.to] = n.level[v] + 1
				q = append(q, e.to)
			}
		}
	}
	return n.level[t] >= 0
}

func (n *network) dfs(v, t int, f int64) int64 {
	if v == t {
		return f
	}
	for ; n.it[v] < len(n.g[v]); n.it[v]++ {
		e := &n.g[v][n.it[v]]
		if e.cap <= 0 || n.level[e.to] != n.level[v]+1 {
			continue
		}
		if d := n.dfs(e.to, t, min(f, e.cap)); d > 0 {
			e.cap -= d
			n.g[e.to][e.rev].cap += d
			return d
		}
	}
	return 0
}

// maxflow pushes as much flow from s to t as the residual network allows.
func (n *network) maxflow(s, t int) int64 {
	var total int64
	for n.bfs(s, t) {
		n.it = make([]int, len(n.g))
		for {
			f := n.dfs(s, t, inf)
			if f == 0 {
				break
			}
			total += f
		}
	}
	return total
}

// maxWeightAntichain returns the largest total weight of a set of
// pairwise-unordered nodes of a DAG (edges[i] lists i's successors), by the
// weighted Dilworth theorem: it equals the minimum flow that covers every
// node v at least weight[v] times with chains.
func maxWeightAntichain(weight []int64, edges [][]int) int64 {
	n := len(weight)
	if n == 0 {
		return 0
	}
	// Nodes: in(v)=2v, out(v)=2v+1, s=2n, t=2n+1, S*=2n+2, T*=2n+3.
	s, t, ss, tt := 2*n, 2*n+1, 2*n+2, 2*n+3
	net := newNetwork(2*n + 4)
	for v := 0; v < n; v++ {
		net.add(s, 2*v, inf)
		net.add(2*v+1, t, inf)
		net.add(2*v, 2*v+1, inf) // the part above the lower bound
		if w := weight[v]; w > 0 {
			// Lower bound w on in(v)->out(v): out(v) receives w, in(v) gives w.
			net.add(ss, 2*v+1, w)
			net.add(2*v, tt, w)
		}
		for _, u := range edges[v] {
			net.add(2*v+1, 2*u, inf)
		}
	}
	from, idx := net.add(t, s, inf)
	net.maxflow(ss, tt) // always saturates: every node can reach t and be reached from s
	feasible := inf - net.g[from][idx].cap
	// Remove t->s and push flow back from t to s: what is left is minimal.
	back := net.g[from][idx]
	net.g[from][idx].cap = 0
	net.g[back.to][back.rev].cap = 0
	return feasible - net.maxflow(t, s)
}
