package admission

import "testing"

func TestMaxWeightAntichain(t *testing.T) {
	cases := []struct {
		name   string
		weight []int64
		edges  [][]int
		want   int64
	}{
		{"empty", nil, nil, 0},
		{"one", []int64{3}, [][]int{nil}, 3},
		{"chain", []int64{2, 5, 1}, [][]int{{1}, {2}, nil}, 5},
		{"independent", []int64{2, 5, 1}, [][]int{nil, nil, nil}, 8},
		// a -> b, a -> c, b -> d, c -> d: b and c together.
		{"diamond", []int64{4, 1, 2, 4}, [][]int{{1, 2}, {3}, {3}, nil}, 4},
		{"diamond wide middle", []int64{1, 3, 2, 1}, [][]int{{1, 2}, {3}, {3}, nil}, 5},
		// a -> c, b -> d: {a,b}=3, {c,d}=5, {a,d}=4, {b,c}=4.
		{"two chains", []int64{1, 2, 3, 2}, [][]int{{2}, {3}, nil, nil}, 5},
		// zero weights do not count
		{"zeros", []int64{0, 0, 7}, [][]int{{1}, nil, nil}, 7},
		// a -> b -> c and a -> c: b and c are ordered (through b).
		{"transitive", []int64{1, 2, 2}, [][]int{{1, 2}, {2}, nil}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := maxWeightAntichain(tc.weight, tc.edges); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}
