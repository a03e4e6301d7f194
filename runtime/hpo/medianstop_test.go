package hpo

import (
	"errors"
	"testing"
)

func TestShouldStop(t *testing.T) {
	done := func(v float64, reports ...float64) Trial {
		return Trial{State: Succeeded, Value: v, Reports: reports}
	}
	// Completed trials' step-4 values: 0.4, 0.5, 0.6 → median 0.5.
	completed := []Trial{
		done(0.3, 0.9, 0.8, 0.6, 0.4, 0.3),
		done(0.4, 0.9, 0.8, 0.7, 0.5, 0.4),
		done(0.6, 0.9, 0.8, 0.7), // fewer reports: its final value counts
		{State: Failed, Value: 100, Reports: []float64{9, 9, 9, 9}},
	}
	running := func(r ...float64) Trial { return Trial{State: Running, Reports: r} }
	tests := []struct {
		name      string
		trial     Trial
		completed []Trial
		dir       Direction
		minTrials int
		want      bool
	}{
		{"clearly bad", running(1, 1, 1, 0.9), completed, Minimize, 3, true},
		{"clearly good", running(1, 1, 1, 0.1), completed, Minimize, 3, false},
		{"equal to median", running(1, 1, 1, 0.5), completed, Minimize, 3, false},
		{"too early", running(1, 1, 0.9), completed, Minimize, 3, false},
		{"too few completed", running(1, 1, 1, 0.9), completed, Minimize, 4, false},
		{"none completed", running(1, 1, 1, 0.9), nil, Minimize, 0, false},
		{"maximize bad", running(0, 0, 0, 0.1), completed, Maximize, 3, true},
		{"maximize good", running(0, 0, 0, 0.9), completed, Maximize, 3, false},
		{"later step uses finals", running(1, 1, 1, 1, 1, 1, 0.45), completed, Minimize, 3, true},
		{"even count median", running(1, 1, 1, 0.44), completed[:2], Minimize, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShouldStop(tc.trial, tc.completed, tc.dir, tc.minTrials, 4); got != tc.want {
				t.Fatalf("ShouldStop = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMedianStopSettings(t *testing.T) {
	tests := []struct {
		name        string
		set         Settings
		minT, start int
		wantErr     bool
	}{
		{"defaults", nil, 3, 4, false},
		{"given", Settings{"min_trials_required": "5", "start_step": "2"}, 5, 2, false},
		{"bad min", Settings{"min_trials_required": "x"}, 0, 0, true},
		{"zero step", Settings{"start_step": "0"}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, s, err := MedianStopSettings(tc.set)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || m != tc.minT || s != tc.start {
				t.Fatalf("got %d, %d, %v; want %d, %d", m, s, err, tc.minT, tc.start)
			}
		})
	}
}
