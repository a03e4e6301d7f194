package lineage

import (
	"slices"
	"sort"
)

// order orders each layer to reduce crossings: an initial order by
// barycenter of the layer before, then sweeps down (by predecessors) and
// up (by successors) with adjacent exchanges, keeping the best order
// found.
func order(layers [][]*item, links []link) {
	preds, succs := map[*item][]*item{}, map[*item][]*item{}
	for _, l := range links {
		preds[l.to] = append(preds[l.to], l.from)
		succs[l.from] = append(succs[l.from], l.to)
	}
	renumber := func(layer []*item) {
		for i, n := range layer {
			n.pos = i
		}
	}
	for i := range layers {
		if i > 0 {
			sortBy(layers[i], preds)
		}
		renumber(layers[i])
	}
	best := snapshot(layers)
	bestC := crossingsOf(layers, succs)
	for iter := 0; iter < 24 && bestC > 0; iter++ {
		if iter%2 == 0 {
			for i := 1; i < len(layers); i++ {
				sortBy(layers[i], preds)
				renumber(layers[i])
				exchange(layers[i], layers[i-1], preds, true)
			}
		} else {
			for i := len(layers) - 2; i >= 0; i-- {
				sortBy(layers[i], succs)
				renumber(layers[i])
				exchange(layers[i], layers[i+1], succs, false)
			}
		}
		if c := crossingsOf(layers, succs); c < bestC {
			best, bestC = snapshot(layers), c
		}
	}
	for i := range layers {
		layers[i] = best[i]
		renumber(layers[i])
	}
}

func snapshot(layers [][]*item) [][]*item {
	out := make([][]*item, len(layers))
	for i, l := range layers {
		out[i] = slices.Clone(l)
	}
	return out
}

// sortBy orders a layer by the barycenter of each item's neighbours
// (positions in their own layer); items without neighbours keep their
// place.
func sortBy(layer []*item, nbrs map[*item][]*item) {
	bary := map[*item]float64{}
	for _, n := range layer {
		ns := nbrs[n]
		if len(ns) == 0 {
			bary[n] = float64(n.pos)
			continue
		}
		sum := 0.0
		for _, m := range ns {
			sum += float64(m.pos)
		}
		bary[n] = sum / float64(len(ns))
	}
	sort.SliceStable(layer, func(i, j int) bool { return bary[layer[i]] < bary[layer[j]] })
}

// exchange swaps neighbours of a layer while that removes crossings with
// the fixed layer next to it.
func exchange(layer, fixed []*item, nbrs map[*item][]*item, _ bool) {
	for improved, rounds := true, 0; improved && rounds < 8; rounds++ {
		improved = false
		for i := 0; i+1 < len(layer); i++ {
			a, b := layer[i], layer[i+1]
			if pairCrossings(nbrs[b], nbrs[a]) < pairCrossings(nbrs[a], nbrs[b]) {
				layer[i], layer[i+1] = b, a
				a.pos, b.pos = i+1, i
				improved = true
			}
		}
	}
}

// pairCrossings counts the crossings between the links of an item above
// (to the positions as) and of the item below it (to bs).
func pairCrossings(as, bs []*item) int {
	c := 0
	for _, a := range as {
		for _, b := range bs {
			if b.pos < a.pos {
				c++
			}
		}
	}
	return c
}

// crossingsOf counts the crossings between each pair of adjacent layers.
func crossingsOf(layers [][]*item, succs map[*item][]*item) int {
	c := 0
	var es [][2]int
	for i := 0; i+1 < len(layers); i++ {
		es = es[:0]
		for _, n := range layers[i] {
			for _, m := range succs[n] {
				es = append(es, [2]int{n.pos, m.pos})
			}
		}
		c += inversions(es, len(layers[i+1]))
	}
	return c
}

// inversions counts the pairs of edges (a1, b1), (a2, b2) between two
// layers that cross: (a1-a2)*(b1-b2) < 0. Edges sorted by a, then b; for
// each edge, the earlier edges with a larger b (so a smaller a: equal a
// sorts b ascending) are counted with a Fenwick tree over b in [0, width):
// O(E log E) instead of comparing every pair.
func inversions(es [][2]int, width int) int {
	slices.SortFunc(es, func(x, y [2]int) int {
		if x[0] != y[0] {
			return x[0] - y[0]
		}
		return x[1] - y[1]
	})
	tree := make([]int, width+1)
	c, seen := 0, 0
	for _, e := range es {
		notAbove := 0 // earlier edges with b <= e's b
		for j := e[1] + 1; j > 0; j -= j & -j {
			notAbove += tree[j]
		}
		c += seen - notAbove
		for j := e[1] + 1; j <= width; j += j & -j {
			tree[j]++
		}
		seen++
	}
	return c
}

// place gives each layer its x and each item its y: heights fixed, the
// items of a layer in order with gaps, each as close as it can be to the
// mean height of its neighbours (least squares, by pool-adjacent
// violators), sweeping down and up.
func place(layers [][]*item, links []link) {
	nbrs := map[*item][]*item{}
	for _, l := range links {
		nbrs[l.to] = append(nbrs[l.to], l.from)
		nbrs[l.from] = append(nbrs[l.from], l.to)
	}
	for _, layer := range layers {
		y := 0.0
		for _, n := range layer {
			n.y = y
			y += n.h + itemGy
		}
	}
	for iter := 0; iter < 8; iter++ {
		idx := make([]int, len(layers))
		for i := range idx {
			idx[i] = i
		}
		if iter%2 == 1 {
			slices.Reverse(idx)
		}
		for _, i := range idx {
			align(layers[i], nbrs)
		}
	}
	minY := 0.0
	for _, layer := range layers {
		for _, n := range layer {
			minY = min(minY, n.y)
		}
	}
	for _, layer := range layers {
		for _, n := range layer {
			n.y += margin - minY
		}
	}
}

// align moves a layer's items, in order and apart, as near as they can be
// to their neighbours' mean centre.
func align(layer []*item, nbrs map[*item][]*item) {
	if len(layer) == 0 {
		return
	}
	// z_i = y_i - offset_i must not decrease; fit z to the targets.
	target := make([]float64, len(layer))
	weight := make([]float64, len(layer))
	offset := 0.0
	for i, n := range layer {
		want, w := n.y+n.h/2, 0.1
		if ns := nbrs[n]; len(ns) > 0 {
			sum := 0.0
			for _, m := range ns {
				sum += m.y + m.h/2
			}
			want, w = sum/float64(len(ns)), float64(len(ns))
		}
		target[i], weight[i] = want-n.h/2-offset, w
		offset += n.h + itemGy
	}
	z := isotonic(target, weight)
	offset = 0
	for i, n := range layer {
		n.y = z[i] + offset
		offset += n.h + itemGy
	}
}

// isotonic is the weighted least-squares non-decreasing fit of xs (pool
// adjacent violators).
func isotonic(xs, ws []float64) []float64 {
	type block struct {
		v, w float64
		n    int
	}
	var bs []block
	for i, x := range xs {
		bs = append(bs, block{x, ws[i], 1})
		for len(bs) > 1 && bs[len(bs)-2].v > bs[len(bs)-1].v {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			w := a.w + b.w
			bs = append(bs[:len(bs)-2], block{(a.v*a.w + b.v*b.w) / w, w, a.n + b.n})
		}
	}
	out := make([]float64, 0, len(xs))
	for _, b := range bs {
		for i := 0; i < b.n; i++ {
			out = append(out, b.v)
		}
	}
	return out
}
