package admission

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func pools() []Pool {
	return []Pool{
		{Name: "a100", GPUType: "a100", Nodes: []Node{{"n1", 8}, {"n2", 4}}},
		{Name: "t4", GPUType: "t4", Nodes: []Node{{"m1", 2}, {"m2", 2}, {"m3", 2}}},
	}
}

func TestDecideBasics(t *testing.T) {
	groups := map[string]string{"ml": "a100", "cv": "t4"}
	req := func(run, group string, gpus, step int64, at time.Duration) Request {
		return Request{Run: run, Group: group, Demand: Demand{GPUs: gpus, LargestStep: step}, Enqueued: t0.Add(at)}
	}
	t.Run("fits on one node", func(t *testing.T) {
		d := Decide(State{Pools: pools(), Groups: groups, Queue: []Request{req("r1", "ml", 6, 6, 0)}}, t0, Options{})
		if len(d.Admit) != 1 || d.Admit[0].Nodes["n1"] != 6 {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("needs one node bigger than any free", func(t *testing.T) {
		d := Decide(State{Pools: pools(), Groups: groups, Queue: []Request{req("r1", "cv", 4, 4, 0)}}, t0, Options{})
		if len(d.Admit) != 0 || d.Waiting["r1"] != "needs 4 × t4 on one node; pool t4 has at most 2 free on a node (6 in all)" {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("multi-node spreads", func(t *testing.T) {
		r := req("r1", "cv", 4, 4, 0)
		r.MultiNode = true
		d := Decide(State{Pools: pools(), Groups: groups, Queue: []Request{r}}, t0, Options{})
		if len(d.Admit) != 1 || sum(d.Admit[0].Nodes) != 4 {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("skip-ahead, then aging stops it", func(t *testing.T) {
		running := []Allocation{{Run: "old", Pool: "a100", Nodes: map[string]int64{"n1": 8}}}
		q := []Request{req("big", "ml", 8, 8, 0), req("small", "ml", 2, 2, time.Second)}
		d := Decide(State{Pools: pools(), Groups: groups, Running: running, Queue: q}, t0.Add(time.Minute), Options{})
		if len(d.Admit) != 1 || d.Admit[0].Run != "small" || !strings.Contains(d.Waiting["big"], "needs 8 × a100") {
			t.Fatalf("skip-ahead: %+v", d)
		}
		d = Decide(State{Pools: pools(), Groups: groups, Running: running, Queue: q}, t0.Add(time.Hour), Options{})
		if len(d.Admit) != 0 || !strings.Contains(d.Waiting["small"], "waits behind big") {
			t.Fatalf("aged head: %+v", d)
		}
	})
	t.Run("start anyway", func(t *testing.T) {
		r := req("now", "cv", 100, 100, 0)
		r.StartAnyway = true
		d := Decide(State{Pools: pools(), Groups: groups, Queue: []Request{r}}, t0, Options{})
		if len(d.Admit) != 1 || len(d.Admit[0].Nodes) != 0 {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("unknown group", func(t *testing.T) {
		d := Decide(State{Pools: pools(), Groups: groups, Queue: []Request{req("x", "nobody", 1, 1, 0)}}, t0, Options{})
		if d.Waiting["x"] == "" {
			t.Fatal("a run of a group without a pool was not held")
		}
	})
}

func sum(m map[string]int64) (s int64) {
	for _, v := range m {
		s += v
	}
	return s
}

// TestSimulation runs 500 runs with random GPU shapes and durations through
// 2 pools and 3 groups on a virtual clock, checking after every decision that
// no pool or node is over-committed, that no aged run is passed, that
// start_anyway runs start at once, and at the end that every run ran.
func TestSimulation(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	groups := map[string]string{"g1": "a100", "g2": "a100", "g3": "t4"}
	capacity := map[string]map[string]int64{}
	for _, p := range pools() {
		capacity[p.Name] = map[string]int64{}
		for _, n := range p.Nodes {
			capacity[p.Name][n.Name] = n.GPUs
		}
	}
	type job struct {
		req      Request
		duration time.Duration
		start    time.Time
	}
	var pending []*job
	for i := 0; i < 500; i++ {
		g := []string{"g1", "g2", "g3"}[rng.Intn(3)]
		maxStep := int64(8)
		if groups[g] == "t4" {
			maxStep = 2
		}
		step := 1 + rng.Int63n(maxStep)
		gpus := step * (1 + rng.Int63n(2))
		if groups[g] == "t4" {
			gpus = min(gpus, 6)
		} else {
			gpus = min(gpus, 12)
		}
		r := Request{Run: fmt.Sprintf("r%03d", i), Group: g, Demand: Demand{GPUs: gpus, LargestStep: step},
			Enqueued: t0.Add(time.Duration(rng.Intn(3600)) * time.Second), StartAnyway: rng.Intn(20) == 0}
		pending = append(pending, &job{req: r, duration: time.Duration(60+rng.Intn(1800)) * time.Second})
	}
	sort.Slice(pending, func(i, j int) bool { return pending[i].req.Enqueued.Before(pending[j].req.Enqueued) })
	byRun := map[string]*job{}
	for _, j := range pending {
		byRun[j.req.Run] = j
	}
	var queue []Request
	running := map[string]Allocation{}
	now := t0
	started := 0
	opts := Options{Aging: 15 * time.Minute}
	for steps := 0; started < 500; steps++ {
		if steps > 100000 {
			t.Fatalf("simulation does not end: %d started", started)
		}
		for len(pending) > 0 && !pending[0].req.Enqueued.After(now) {
			queue = append(queue, pending[0].req)
			pending = pending[1:]
		}
		for run, a := range running {
			j := byRun[run]
			if !j.start.Add(j.duration).After(now) {
				delete(running, run)
				_ = a
			}
		}
		st := State{Pools: pools(), Groups: groups, Queue: queue}
		for _, a := range running {
			st.Running = append(st.Running, a)
		}
		d := Decide(st, now, opts)
		admitted := map[string]bool{}
		for _, a := range d.Admit {
			admitted[a.Run] = true
			running[a.Run] = a
			byRun[a.Run].start = now
			started++
		}
		// Invariants.
		used := map[string]map[string]int64{}
		for _, a := range running {
			for n, g := range a.Nodes {
				if used[a.Pool] == nil {
					used[a.Pool] = map[string]int64{}
				}
				used[a.Pool][n] += g
				if used[a.Pool][n] > capacity[a.Pool][n] {
					t.Fatalf("%s: node %s/%s over-committed: %d > %d", now, a.Pool, n, used[a.Pool][n], capacity[a.Pool][n])
				}
			}
		}
		var rest []Request
		for _, r := range queue {
			if r.StartAnyway && !admitted[r.Run] {
				t.Fatalf("start_anyway run %s was not admitted at once", r.Run)
			}
			if !admitted[r.Run] {
				rest = append(rest, r)
				if now.Sub(r.Enqueued) >= opts.Aging {
					for _, a := range d.Admit {
						later := byRun[a.Run].req
						if groups[later.Group] == groups[r.Group] && later.Enqueued.After(r.Enqueued) && !later.StartAnyway {
							t.Fatalf("%s: %s passed %s, which had waited %s", now, a.Run, r.Run, now.Sub(r.Enqueued))
						}
					}
				}
			}
		}
		queue = rest
		// Advance the clock to the next arrival or completion.
		next := now.Add(24 * time.Hour)
		if len(pending) > 0 {
			next = minTime(next, pending[0].req.Enqueued)
		}
		for run := range running {
			j := byRun[run]
			next = minTime(next, j.start.Add(j.duration))
		}
		if !next.After(now) {
			next = now.Add(time.Second)
		}
		now = next
	}
	// No run waits forever. Once a run has aged, later runs of its pool wait
	// behind it, so it starts at the latest when the runs already queued
	// ahead of it, one after another, and those running have finished: its
	// wait is at most the aging limit plus one longest run for each run still
	// waiting ahead of it when it aged, plus one.
	var maxDur time.Duration
	for _, j := range byRun {
		maxDur = max(maxDur, j.duration)
	}
	var longest time.Duration
	for _, j := range byRun {
		wait := j.start.Sub(j.req.Enqueued)
		longest = max(longest, wait)
		aged := j.req.Enqueued.Add(opts.Aging)
		ahead := 0
		for _, i := range byRun {
			if groups[i.req.Group] == groups[j.req.Group] && i.req.Enqueued.Before(j.req.Enqueued) && i.start.After(aged) {
				ahead++
			}
		}
		if bound := opts.Aging + time.Duration(ahead+1)*maxDur; wait > bound {
			t.Errorf("%s waited %s, more than %s (%d runs ahead when it aged)", j.req.Run, wait, bound, ahead)
		}
	}
	t.Logf("500 runs started by %s; longest wait %s", now.Sub(t0), longest)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// BenchmarkDecide: 10,000 queued runs over 100 pools.
func BenchmarkDecide(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	var ps []Pool
	groups := map[string]string{}
	for i := 0; i < 100; i++ {
		p := Pool{Name: fmt.Sprintf("p%d", i), GPUType: "a100"}
		for n := 0; n < 4; n++ {
			p.Nodes = append(p.Nodes, Node{fmt.Sprintf("p%d-n%d", i, n), 8})
		}
		ps = append(ps, p)
		groups[fmt.Sprintf("g%d", i)] = p.Name
	}
	var q []Request
	for i := 0; i < 10000; i++ {
		step := 1 + rng.Int63n(8)
		q = append(q, Request{Run: fmt.Sprintf("r%d", i), Group: fmt.Sprintf("g%d", rng.Intn(100)),
			Demand: Demand{GPUs: step * (1 + rng.Int63n(3)), LargestStep: step}, Enqueued: t0.Add(time.Duration(i) * time.Second)})
	}
	st := State{Pools: ps, Groups: groups, Queue: q}
	cycles := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		Decide(st, t0.Add(time.Hour), Options{})
		cycles = append(cycles, time.Since(start))
	}
	b.StopTimer()
	perDecision := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 10000
	b.ReportMetric(1e9/perDecision, "decisions/s")
	// One Decide cycle decides all 10,000 queued runs; its p99, and that
	// spread over the runs it decided, is the p99 per decision.
	sort.Slice(cycles, func(i, j int) bool { return cycles[i] < cycles[j] })
	p99 := cycles[(len(cycles)*99)/100]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms/cycle")
	b.ReportMetric(float64(p99.Nanoseconds())/10000, "p99-ns/decision")
}
