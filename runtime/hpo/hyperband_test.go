package hpo

import (
	"errors"
	"reflect"
	"sort"
	"strconv"
	"testing"
)

func TestHyperbandBrackets(t *testing.T) {
	tests := []struct {
		rl, eta float64
		want    []Bracket
	}{
		{81, 3, []Bracket{{4, 81, 1}, {3, 34, 3}, {2, 15, 9}, {1, 8, 27}, {0, 5, 81}}},
		{9, 3, []Bracket{{2, 9, 1}, {1, 5, 3}, {0, 3, 9}}},
		{8, 2, []Bracket{{3, 8, 1}, {2, 6, 2}, {1, 4, 4}, {0, 4, 8}}},
		{1, 3, []Bracket{{0, 1, 1}}},
		{0, 3, nil},
		{9, 1, nil},
	}
	for _, tc := range tests {
		if got := HyperbandBrackets(tc.rl, tc.eta); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("HyperbandBrackets(%v, %v) = %v, want %v", tc.rl, tc.eta, got, tc.want)
		}
	}
}

func hbSpace() Space {
	return Space{
		{Name: "x", Type: Double, Min: 0, Max: 1},
		{Name: "epochs", Type: Int, Min: 1, Max: 100},
	}
}

// runHyperband drives a hyperband to exhaustion, n trials a round, scoring
// each trial by x and finishing every round before the next.
func runHyperband(t *testing.T, dir Direction, n int) []Trial {
	t.Helper()
	h, err := NewHyperband(hbSpace(), Settings{"r_l": "9", "resource_name": "epochs", "random_state": "4"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	var hist []Trial
	for round := 0; round < 100; round++ {
		got, err := h.Suggest(hist, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			return hist
		}
		for _, a := range got {
			x, _ := strconv.ParseFloat(a["x"], 64)
			hist = append(hist, Trial{Params: a, State: Succeeded, Value: x})
		}
	}
	t.Fatal("hyperband never finished")
	return nil
}

func TestHyperbandSchedule(t *testing.T) {
	// r_l=9, eta=3: bracket 2 runs 9@1, 3@3, 1@9; bracket 1 runs 5@3, 1@9;
	// bracket 0 runs 3@9.
	counts := []int{9, 3, 1, 5, 1, 3}
	res := []string{"1", "3", "9", "3", "9", "9"}
	for _, tc := range []struct {
		name string
		dir  Direction
		n    int
	}{{"minimize all at once", Minimize, 100}, {"maximize one by one", Maximize, 1}, {"minimize by 4", Minimize, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			hist := runHyperband(t, tc.dir, tc.n)
			if len(hist) != 22 {
				t.Fatalf("ran %d trials, want 22", len(hist))
			}
			at := 0
			for r, c := range counts {
				rung := hist[at : at+c]
				for _, tr := range rung {
					if tr.Params["epochs"] != res[r] {
						t.Fatalf("rung %d: epochs %s, want %s", r, tr.Params["epochs"], res[r])
					}
				}
				if r == 1 || r == 2 || r == 4 {
					prevStart := at - counts[r-1]
					checkPromoted(t, hist[prevStart:at], rung, tc.dir)
				}
				at += c
			}
		})
	}
}

// checkPromoted checks that next holds the best len(next) of prev, best first.
func checkPromoted(t *testing.T, prev, next []Trial, dir Direction) {
	t.Helper()
	vals := make([]float64, len(prev))
	for i, p := range prev {
		vals[i] = p.Value
	}
	sort.Float64s(vals)
	if dir == Maximize {
		sort.Sort(sort.Reverse(sort.Float64Slice(vals)))
	}
	for i, tr := range next {
		if tr.Value != vals[i] {
			t.Fatalf("promoted #%d has value %v, want %v", i, tr.Value, vals[i])
		}
	}
}

func TestHyperbandWaitsForRung(t *testing.T) {
	h, err := NewHyperband(hbSpace(), Settings{"r_l": "9", "resource_name": "epochs"}, Minimize)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := h.Suggest(nil, 100)
	if len(first) != 9 {
		t.Fatalf("first round gave %d, want 9", len(first))
	}
	hist := trialsOf(first)
	hist[3].State = Running
	if got, _ := h.Suggest(hist, 5); len(got) != 0 {
		t.Fatalf("proposed %d while rung 0 runs", len(got))
	}
	hist[3].State = Failed
	hist[3].Value = -100 // a failed trial ranks last whatever its value
	got, _ := h.Suggest(hist, 5)
	if len(got) != 3 {
		t.Fatalf("got %d, want 3", len(got))
	}
	for _, a := range got {
		if a["x"] == first[3]["x"] {
			t.Fatal("promoted a failed trial")
		}
	}
	again, _ := h.Suggest(hist, 5)
	if !reflect.DeepEqual(got, again) {
		t.Fatal("not deterministic")
	}
}

func TestHyperbandInvalid(t *testing.T) {
	tests := []struct {
		name string
		set  Settings
	}{
		{"no r_l", Settings{"resource_name": "epochs"}},
		{"zero r_l", Settings{"r_l": "0", "resource_name": "epochs"}},
		{"bad r_l", Settings{"r_l": "x", "resource_name": "epochs"}},
		{"eta 1", Settings{"r_l": "9", "eta": "1", "resource_name": "epochs"}},
		{"no resource", Settings{"r_l": "9"}},
		{"unknown resource", Settings{"r_l": "9", "resource_name": "steps"}},
		{"categorical resource", Settings{"r_l": "9", "resource_name": "opt"}},
		{"bad seed", Settings{"r_l": "9", "resource_name": "epochs", "random_state": "z"}},
	}
	space := append(hbSpace(), Parameter{Name: "opt", Type: Categorical, List: []string{"a"}})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHyperband(space, tc.set, Minimize); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
