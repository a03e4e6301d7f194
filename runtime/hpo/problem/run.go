package problem

import (
	"fmt"
	"math"
	"strconv"

	"github.com/kubeline/kubeline/runtime/hpo"
)

// Run asks s for one trial at a time, evaluates it and returns the regret
// (best value so far − Min) after each budget in budgets (ascending).
func (p Problem) Run(s hpo.Suggester, budgets []int) ([]float64, error) {
	var hist []hpo.Trial
	best := math.Inf(1)
	regrets := make([]float64, 0, len(budgets))
	for len(hist) < budgets[len(budgets)-1] {
		as, err := s.Suggest(hist, 1)
		if err != nil || len(as) != 1 {
			return nil, fmt.Errorf("%s: trial %d: suggest gave %d assignments: %v", p.Name, len(hist), len(as), err)
		}
		v, err := p.Value(as[0])
		if err != nil {
			return nil, err
		}
		best = math.Min(best, v)
		hist = append(hist, hpo.Trial{Name: strconv.Itoa(len(hist)), Params: as[0], State: hpo.Succeeded, Value: v})
		for _, b := range budgets {
			if len(hist) == b {
				regrets = append(regrets, best-p.Min)
			}
		}
	}
	return regrets, nil
}
