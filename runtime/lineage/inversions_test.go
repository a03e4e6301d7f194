package lineage

import (
	"math/rand/v2"
	"testing"
)

// TestInversionsMatchPairwise: the Fenwick count of crossing edges equals
// comparing every pair, on random edge sets with ties in both layers.
func TestInversionsMatchPairwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		top, bottom := 1+r.IntN(12), 1+r.IntN(12)
		es := make([][2]int, r.IntN(40))
		for i := range es {
			es[i] = [2]int{r.IntN(top), r.IntN(bottom)}
		}
		want := 0
		for x := range es {
			for y := x + 1; y < len(es); y++ {
				if (es[x][0]-es[y][0])*(es[x][1]-es[y][1]) < 0 {
					want++
				}
			}
		}
		if got := inversions(append([][2]int(nil), es...), bottom); got != want {
			t.Fatalf("edges %v: %d crossings, pairwise %d", es, got, want)
		}
	}
}
