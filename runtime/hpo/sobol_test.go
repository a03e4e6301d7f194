package hpo

import (
	"errors"
	"reflect"
	"testing"
)

func TestSobolKnownPoints(t *testing.T) {
	tests := []struct {
		index uint32
		want  []float64
	}{
		{0, []float64{0, 0, 0}},
		{1, []float64{0.5, 0.5, 0.5}},
		{2, []float64{0.75, 0.25, 0.25}},
		{3, []float64{0.25, 0.75, 0.75}},
		{4, []float64{0.375, 0.375, 0.625}},
		{5, []float64{0.875, 0.875, 0.125}},
		{6, []float64{0.625, 0.125, 0.875}},
		{7, []float64{0.125, 0.625, 0.375}},
	}
	for _, tc := range tests {
		if got := SobolPoint(tc.index, 3); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("point %d = %v, want %v", tc.index, got, tc.want)
		}
	}
}

// TestSobolStratified checks the net property: the first 2^m points of every
// dimension fall one in each interval [j/2^m, (j+1)/2^m).
func TestSobolStratified(t *testing.T) {
	const m = 10
	dims := SobolMaxDims
	for d := range dims {
		seen := make([]bool, 1<<m)
		for i := range uint32(1 << m) {
			j := int(SobolPoint(i, dims)[d] * (1 << m))
			if seen[j] {
				t.Fatalf("dimension %d: two points in bin %d", d, j)
			}
			seen[j] = true
		}
	}
}

func TestSobolSuggest(t *testing.T) {
	space := Space{
		{Name: "x", Type: Double, Min: 0, Max: 1},
		{Name: "y", Type: Double, Min: 0, Max: 8},
	}
	tests := []struct {
		name    string
		history int
		n       int
		want    []Assignment
	}{
		{"first", 0, 3, []Assignment{{"x": "0.5", "y": "4"}, {"x": "0.75", "y": "2"}, {"x": "0.25", "y": "6"}}},
		{"continues after history", 2, 1, []Assignment{{"x": "0.25", "y": "6"}}},
	}
	s, err := NewSobol(space, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Suggest(make([]Trial, tc.history), tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSobolScramble(t *testing.T) {
	space := Space{{Name: "x", Type: Double, Min: 0, Max: 1}, {Name: "y", Type: Double, Min: 0, Max: 1}}
	suggest := func(set Settings) []Assignment {
		s, err := NewSobol(space, set)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := s.Suggest(nil, 4)
		return a
	}
	a := suggest(Settings{"scramble": "true", "random_state": "1"})
	if !reflect.DeepEqual(a, suggest(Settings{"scramble": "true", "random_state": "1"})) {
		t.Error("same seed gave different points")
	}
	if reflect.DeepEqual(a, suggest(Settings{"scramble": "true", "random_state": "2"})) {
		t.Error("different seeds gave the same points")
	}
	if reflect.DeepEqual(a, suggest(nil)) {
		t.Error("scrambled equals plain")
	}
}

func TestSobolInvalid(t *testing.T) {
	big := make(Space, SobolMaxDims+1)
	for i := range big {
		big[i] = Parameter{Name: string(rune('a' + i)), Type: Double, Max: 1}
	}
	tests := []struct {
		name  string
		space Space
		set   Settings
	}{
		{"too many dims", big, nil},
		{"bad scramble", Space{{Name: "a", Type: Double, Max: 1}}, Settings{"scramble": "maybe"}},
		{"bad seed", Space{{Name: "a", Type: Double, Max: 1}}, Settings{"random_state": "1.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSobol(tc.space, tc.set); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
