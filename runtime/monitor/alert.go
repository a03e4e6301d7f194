package monitor

// Key names what an alert is about: a metric, and the feature it was
// measured on ("" for latency and error rate).
type Key struct{ Metric, Feature string }

// Key is the alert key of the measure.
func (m Measure) Key() Key { return Key{m.Metric, m.Feature} }

// Changes compares a window's measures with the alerts active before it:
// a violated measure with no active alert raises one; an active alert
// whose measure is back within tolerance clears. A measure of no values
// (nothing recorded for it in the window) changes nothing.
func Changes(active map[Key]bool, measures []Measure) (raised, cleared []Measure) {
	for _, m := range measures {
		if m.N == 0 {
			continue
		}
		switch on := active[m.Key()]; {
		case m.Violated && !on:
			raised = append(raised, m)
		case !m.Violated && on:
			cleared = append(cleared, m)
		}
	}
	return raised, cleared
}
