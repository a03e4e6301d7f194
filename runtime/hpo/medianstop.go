package hpo

import (
	"fmt"
	"sort"
	"strconv"
)

// MedianStopSettings reads Katib's medianstop settings:
// min_trials_required (default 3) and start_step (default 4), both ≥ 1.
func MedianStopSettings(settings Settings) (minTrials, startStep int, err error) {
	read := func(name string, def int) (int, error) {
		v, ok := settings[name]
		if !ok || v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%w: %s = %q must be a positive integer", ErrInvalid, name, v)
		}
		return n, nil
	}
	if minTrials, err = read("min_trials_required", 3); err != nil {
		return 0, 0, err
	}
	if startStep, err = read("start_step", 4); err != nil {
		return 0, 0, err
	}
	return minTrials, startStep, nil
}

// ShouldStop is Katib's median stopping rule. A running trial with k ≥
// startStep reports is stopped when its latest report is worse (in
// direction dir) than the median of the completed trials' values at step k
// — each completed trial's k-th report, or its final Value when it has
// fewer reports — provided at least minTrials trials have completed
// (Succeeded). Ties are not stopped.
func ShouldStop(trial Trial, completed []Trial, dir Direction, minTrials, startStep int) bool {
	k := len(trial.Reports)
	if k == 0 || k < startStep {
		return false
	}
	var vals []float64
	for _, c := range completed {
		if c.State != Succeeded {
			continue
		}
		if len(c.Reports) >= k {
			vals = append(vals, c.Reports[k-1])
		} else {
			vals = append(vals, c.Value)
		}
	}
	if len(vals) == 0 || len(vals) < minTrials {
		return false
	}
	sort.Float64s(vals)
	m := len(vals) / 2
	median := vals[m]
	if len(vals)%2 == 0 {
		median = (vals[m-1] + vals[m]) / 2
	}
	latest := trial.Reports[k-1]
	if dir == Maximize {
		return latest < median
	}
	return latest > median
}
