package hpo

import (
	"errors"
	"reflect"
	"testing"
)

func gridSpace() Space {
	return Space{
		{Name: "opt", Type: Categorical, List: []string{"sgd", "adam"}},
		{Name: "lr", Type: Double, Min: 0.1, Max: 0.3, Step: 0.1},
	}
}

func TestGridEnumeration(t *testing.T) {
	all := []Assignment{
		{"opt": "sgd", "lr": "0.1"}, {"opt": "sgd", "lr": "0.2"}, {"opt": "sgd", "lr": "0.3"},
		{"opt": "adam", "lr": "0.1"}, {"opt": "adam", "lr": "0.2"}, {"opt": "adam", "lr": "0.3"},
	}
	tests := []struct {
		name    string
		history []Trial
		n       int
		want    []Assignment
	}{
		{"all", nil, 10, all},
		{"first two", nil, 2, all[:2]},
		{"skip history", []Trial{{Params: all[0]}, {Params: all[2]}}, 3, []Assignment{all[1], all[3], all[4]}},
		{"exhausted", trialsOf(all), 4, nil},
		{"nearly exhausted", trialsOf(all[:5]), 4, all[5:]},
		{"history spelled differently", []Trial{{Params: Assignment{"opt": "sgd", "lr": "0.10"}}}, 1, all[1:2]},
	}
	g, err := NewGrid(gridSpace(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := g.Suggest(tc.history, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func trialsOf(as []Assignment) []Trial {
	ts := make([]Trial, len(as))
	for i, a := range as {
		ts[i] = Trial{Params: a, State: Succeeded}
	}
	return ts
}

func TestGridSize(t *testing.T) {
	tests := []struct {
		name    string
		space   Space
		want    int
		wantErr bool
	}{
		{"2x3", gridSpace(), 6, false},
		{"int default step", Space{{Name: "a", Type: Int, Min: 1, Max: 5}}, 5, false},
		{"int step 2", Space{{Name: "a", Type: Int, Min: 1, Max: 6, Step: 2}}, 3, false},
		{"discrete x int", Space{{Name: "d", Type: Discrete, List: []string{"1", "2"}}, {Name: "a", Type: Int, Min: 0, Max: 2}}, 6, false},
		{"double without step", Space{{Name: "a", Type: Double, Min: 0, Max: 1}}, 0, true},
		{"invalid space", Space{{Name: "a", Type: "bogus"}}, 0, true},
		{"too large", Space{{Name: "a", Type: Double, Min: 0, Max: 1, Step: 1e-9}, {Name: "b", Type: Double, Min: 0, Max: 1, Step: 1e-9}}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GridSize(tc.space)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("GridSize = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}
