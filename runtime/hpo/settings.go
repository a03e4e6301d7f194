package hpo

import (
	"fmt"
	"math"
	"strconv"
)

// The readers of Katib's algorithmSettings (string values), shared by every
// algorithm.

// seedSetting reads random_state (default 0).
func seedSetting(settings Settings) (int64, error) {
	v, ok := settings["random_state"]
	if !ok || v == "" {
		return 0, nil
	}
	seed, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, fmt.Errorf("%w: random_state = %q is not an integer", ErrInvalid, v)
		}
		seed = int64(f)
	}
	return seed, nil
}

// floatSetting reads a numeric setting; def when absent, and a NaN def makes
// the setting required.
func floatSetting(settings Settings, name string, def float64) (float64, error) {
	v, ok := settings[name]
	if !ok || v == "" {
		if math.IsNaN(def) {
			return 0, fmt.Errorf("%w: setting %s is required", ErrInvalid, name)
		}
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: setting %s = %q is not a number", ErrInvalid, name, v)
	}
	return f, nil
}

// intSetting reads an integer setting that must be at least min.
func intSetting(settings Settings, name string, def, min int) (int, error) {
	v, ok := settings[name]
	if !ok || v == "" {
		return def, nil
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < min {
		return 0, fmt.Errorf("%w: setting %s = %q must be an integer ≥ %d", ErrInvalid, name, v, min)
	}
	return i, nil
}
