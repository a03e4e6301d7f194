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
// and the history's length, never Go's global source. The two are mixed
// (splitmix64) before seeding: math/rand's sources for consecutive seeds
// start with linearly related draws, which had made the random start-up
// trials walk through a list parameter's values in turn.
func rng(seed int64, history []Trial) *rand.Rand {
	return rand.New(rand.NewSource(int64(splitmix64(splitmix64(uint64(seed)) + uint64(len(history))))))
}

// splitmix64 is Steele, Lea and Flood's 64-bit mixer (SplitMix64's output
// function applied to x + the golden gamma).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
