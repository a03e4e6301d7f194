package hpo

import "math/rand"

// Direction says whether the objective is minimised or maximised.
type Direction int

// Objective directions.
const (
	Minimize Direction = iota
	Maximize
)

// TrialState is where a trial is.
type TrialState string

// Trial states the algorithms use.
const (
	Running       TrialState = "Running"
	Succeeded     TrialState = "Succeeded"
	Failed        TrialState = "Failed"
	EarlyStopped  TrialState = "EarlyStopped"
	MetricMissing TrialState = "MetricsUnavailable"
)

// Trial is a finished or running trial, as the algorithms see it.
type Trial struct {
	Name   string
	Params Assignment
	State  TrialState
	// Value is the objective (valid when State is Succeeded).
	Value float64
	// Reports are the objective's intermediate values, in order (medianstop).
	Reports []float64
}

// Settings are Katib's algorithmSettings (values are strings).
type Settings map[string]string

// Suggester proposes the next trials. Suggest is pure: the same space,
// direction, settings, seed and history give the same suggestions. It
// returns fewer than n (or none) when the search space is exhausted.
type Suggester interface {
	Suggest(history []Trial, n int) ([]Assignment, error)
}

// rng returns the generator for a suggestion round: seeded by random_state
// and the history's length, never Go's global source.
func rng(seed int64, history []Trial) *rand.Rand {
	return rand.New(rand.NewSource(seed*1_000_003 + int64(len(history))))
}
