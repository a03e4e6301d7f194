package hpo

import (
	"errors"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	space := Space{
		{Name: "x", Type: Double, Min: 0, Max: 1, Step: 0.5},
		{Name: "y", Type: Int, Min: 1, Max: 9},
	}
	set := Settings{"r_l": "9", "resource_name": "y", "random_state": "1"}
	tests := []struct {
		algo    string
		wantErr bool
	}{
		{"random", false}, {"grid", false}, {"sobol", false}, {"hyperband", false},
		{"tpe", false}, {"multivariate-tpe", false}, {"bayesianoptimization", false}, {"cmaes", false},
		{"pbt", true}, {"", true},
	}
	for _, tc := range tests {
		t.Run(tc.algo, func(t *testing.T) {
			s, err := New(tc.algo, space, set, Minimize)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "hyperband") {
					t.Fatalf("err = %v, want ErrInvalid listing the known names", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Suggest(nil, 2)
			if err != nil || len(got) == 0 {
				t.Fatalf("Suggest = %v, %v", got, err)
			}
		})
	}
}
