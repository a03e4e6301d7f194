package serving

import (
	"net/http"
	"sync"
	"time"
)

// TrafficWindow is how far back a deployment's traffic is kept: one bucket
// a second, in memory (a local deployment's processes do not outlive the
// server either).
const TrafficWindow = 10 * time.Minute

// TrafficPoint is a deployment's requests through the endpoint during the
// step that starts At: how many, how many failed (a status of 500 or more,
// or no answer), and their mean and largest latency.
type TrafficPoint struct {
	At            time.Time `json:"at"`
	Requests      int64     `json:"requests"`
	Errors        int64     `json:"errors"`
	LatencyMeanMS float64   `json:"latency_mean_ms"`
	LatencyMaxMS  float64   `json:"latency_max_ms"`
}

type bucket struct {
	sec              int64 // unix second the bucket counts
	requests, errors int64
	latency, longest time.Duration
}

// traffic is a ring of per-second buckets over TrafficWindow.
type traffic struct {
	mu      sync.Mutex
	buckets [int(TrafficWindow / time.Second)]bucket
}

// add counts one request that started at start.
func (t *traffic) add(start time.Time, latency time.Duration, status int) {
	sec := start.Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	b := &t.buckets[sec%int64(len(t.buckets))]
	if b.sec != sec {
		*b = bucket{sec: sec}
	}
	b.requests++
	if status >= 500 || status == 0 {
		b.errors++
	}
	b.latency += latency
	b.longest = max(b.longest, latency)
}

// series sums the buckets of the span before now into points of step, the
// oldest first; seconds without requests count as none.
func (t *traffic) series(now time.Time, span, step time.Duration) []TrafficPoint {
	span, step = min(max(span, time.Second), TrafficWindow), max(step, time.Second)
	perStep := int64(step / time.Second)
	last := now.Unix()
	steps := (int64(span/time.Second) + perStep - 1) / perStep
	first := last + 1 - steps*perStep // whole steps, the last ending at now
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []TrafficPoint
	for s := first; s <= last; s += perStep {
		p := TrafficPoint{At: time.Unix(s, 0).UTC()}
		var total time.Duration
		var longest time.Duration
		for sec := s; sec < s+perStep && sec <= last; sec++ {
			b := t.buckets[sec%int64(len(t.buckets))]
			if b.sec != sec {
				continue
			}
			p.Requests += b.requests
			p.Errors += b.errors
			total += b.latency
			longest = max(longest, b.longest)
		}
		if p.Requests > 0 {
			p.LatencyMeanMS = float64(total.Microseconds()) / 1000 / float64(p.Requests)
			p.LatencyMaxMS = float64(longest.Microseconds()) / 1000
		}
		out = append(out, p)
	}
	return out
}

// Traffic returns a deployment's requests of the span before now in points
// of step (span at most TrafficWindow).
func (m *Manager) Traffic(name string, now time.Time, span, step time.Duration) ([]TrafficPoint, error) {
	d := m.lookup(name)
	if d == nil {
		return nil, ErrNotFound
	}
	return d.traffic.series(now, span, step), nil
}

// statusWriter keeps the status a response was answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Flush lets streaming answers through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
