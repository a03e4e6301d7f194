package hpo

import (
	"math"
	"strconv"
	"testing"
)

// cmaHistory runs c on f for n trials, one generation at a time.
func cmaHistory(t *testing.T, c *cmaes, f func([]float64) float64, n int) []Trial {
	t.Helper()
	var hist []Trial
	for len(hist) < n {
		as, err := c.Suggest(hist, 1)
		if err != nil {
			t.Fatal(err)
		}
		x, err := c.space.Encode(as[0])
		if err != nil {
			t.Fatal(err)
		}
		hist = append(hist, Trial{Name: strconv.Itoa(len(hist)), Params: as[0], State: Succeeded, Value: f(x)})
	}
	return hist
}

// TestCMAESRestart: on a flat function the run stalls (equal values over
// the stagnation window); with ipop the replay starts a new run with twice
// the population, without it the first run goes on.
func TestCMAESRestart(t *testing.T) {
	sp := Space{{Name: "a", Type: Double, Max: 1}, {Name: "b", Type: Double, Max: 1}}
	flat := func([]float64) float64 { return 1 }
	for _, tc := range []struct {
		restart    string
		wantLambda int
	}{{"none", 4}, {"ipop", 8}} {
		s, err := NewCMAES(sp, Settings{"restart_strategy": tc.restart, "random_state": "2"}, Minimize)
		if err != nil {
			t.Fatal(err)
		}
		c := s.(*cmaes)
		win := 10 + int(math.Ceil(30*2.0/4))
		st, _ := c.replay(cmaHistory(t, c, flat, 4*(win+2)))
		if st.lambda != tc.wantLambda {
			t.Errorf("%s: λ %d after %d flat generations, want %d", tc.restart, st.lambda, win+2, tc.wantLambda)
		}
	}
}

// TestCMAESMargin: on a function of the continuous coordinate only, an int
// coordinate's marginal keeps at least the margin's spread, so it still
// leaves its value now and then after σ has shrunk.
func TestCMAESMargin(t *testing.T) {
	sp := Space{
		{Name: "a", Type: Double, Max: 1},
		{Name: "b", Type: Double, Max: 1},
		{Name: "n", Type: Int, Min: 0, Max: 9},
	}
	s, err := NewCMAES(sp, Settings{"random_state": "4"}, Minimize)
	if err != nil {
		t.Fatal(err)
	}
	c := s.(*cmaes)
	sphere := func(x []float64) float64 { return (x[0]-0.3)*(x[0]-0.3) + (x[1]-0.6)*(x[1]-0.6) }
	st, _ := c.replay(cmaHistory(t, c, sphere, 400))
	alpha := 1 / float64(st.d*st.lambda)
	want := 0.5 / 10 / (math.Sqrt2 * math.Erfinv(1-alpha))
	if got := st.sigma * math.Sqrt(st.c[2][2]); got < want*(1-1e-9) {
		t.Errorf("int coordinate's spread %.3g below the margin's %.3g", got, want)
	}
	if got := st.sigma * math.Sqrt(st.c[0][0]); got > want/10 {
		t.Errorf("continuous coordinate's spread %.3g: the run did not converge (want < %.3g)", got, want/10)
	}
}
