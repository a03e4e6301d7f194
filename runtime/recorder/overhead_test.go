package recorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// BenchmarkRecordingOverhead is issue 22's acceptance 3: V1 predict
// requests at concurrency 16 through kubeline's inference endpoint to a
// real predictor process (this test binary), with recording off and on
// (rate 1: every request recorded). One op is a round: a run with
// recording off and one with it on, each of PerRun requests, in
// alternating order (off-on, then on-off: a drift of the machine's speed
// within a round cancels over two). Between runs the recorder is flushed
// and the heap collected, so a run starts as the one it is compared with.
//
// What a round gives is the difference on − off of each percentile; the
// figures are the median of those differences over the rounds
// (added-p50-µs, added-p99-µs) with a distribution-free confidence
// interval of at least 95% (added-p99-lo-µs .. added-p99-hi-µs: order
// statistics of the sign test; with fewer than 6 rounds the range). A
// single p99 of 16 concurrent requests on a busy 2-core machine varies
// by milliseconds from run to run; the median of paired differences does
// not. Run it with -benchtime Nx for N rounds (20 or more).
//
// Sub-benchmarks:
//   - recorded: every prediction written into SQLite and the artifact
//     directory by the worker;
//   - recorded-store-reads: the same, and before it forwards a request the
//     endpoint makes the store reads a multi-user server makes (the
//     caller's token, user and groups, the deployment's holder) on the
//     store the worker writes to;
//   - off-off: the control, recording off in both runs of a round: its
//     added figures are the estimate's noise (≈ 0);
//   - request-path: requests captured and handed to a recorder that drops
//     them: what a request itself pays.
func BenchmarkRecordingOverhead(b *testing.B) {
	b.Run("recorded", func(b *testing.B) { benchOverhead(b, overheadCase{}) })
	b.Run("recorded-store-reads", func(b *testing.B) { benchOverhead(b, overheadCase{storeReads: true}) })
	b.Run("off-off", func(b *testing.B) { benchOverhead(b, overheadCase{control: true}) })
	b.Run("request-path", func(b *testing.B) { benchOverhead(b, overheadCase{requestPathOnly: true}) })
}

// PerRun is how many requests a run of BenchmarkRecordingOverhead sends
// (KUBELINE_BENCH_REQUESTS overrides it).
const PerRun = 4000

// Concurrency is how many requests BenchmarkRecordingOverhead has in
// flight at once.
const Concurrency = 16

type overheadCase struct {
	requestPathOnly, storeReads, control bool
}

// dropping samples like the recorder and records nothing.
type dropping struct{ r *Recorder }

func (d dropping) Sampled(dep string) bool     { return d.r.Sampled(dep) }
func (d dropping) Record(p serving.Prediction) {}

// run is one run's sorted latencies and what this process used meanwhile
// (client, endpoint and worker; the predictor is another process): CPU
// time, bytes allocated and garbage collections.
type run struct {
	lat   []time.Duration
	cpu   time.Duration
	alloc uint64
	gcs   uint32
}

func (r run) pct(p float64) float64 {
	i := int(math.Ceil(p*float64(len(r.lat)))) - 1
	return float64(r.lat[max(i, 0)].Microseconds())
}

func benchOverhead(b *testing.B, c overheadCase) {
	o := Options{}
	if g := os.Getenv("KUBELINE_BENCH_GATHER"); g != "" { // compare batch sizes
		o.Gather, _ = time.ParseDuration(g)
	}
	n := PerRun
	if s := os.Getenv("KUBELINE_BENCH_REQUESTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	w := newWorld(b, o)
	w.run(b)
	var rec serving.Recorder = w.rec
	if c.requestPathOnly {
		rec = dropping{w.rec}
	}
	var before func(r *http.Request)
	if c.storeReads {
		before = multiUserReads(b, w.st)
	}
	u, _ := endpointWith(b, rec, before)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * Concurrency}}
	measure := func(on bool) run {
		rate := 0.0
		if on && !c.control {
			rate = 1
		}
		w.rec.SetRate("bench", rate)
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := cpuTime()
		lat := sendAll(b, client, u, n)
		w.rec.Flush(context.Background()) // the worker's last batch is this run's
		cpu := cpuTime() - c0
		runtime.ReadMemStats(&m1)
		return run{lat: lat, cpu: cpu, alloc: m1.TotalAlloc - m0.TotalAlloc, gcs: m1.NumGC - m0.NumGC}
	}
	measure(false) // warm: connections, the predictor, the store's pages
	measure(true)
	load := loadAverage()
	var offs, ons []run
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			offs = append(offs, measure(false))
			ons = append(ons, measure(true))
		} else {
			ons = append(ons, measure(true))
			offs = append(offs, measure(false))
		}
	}
	b.StopTimer()
	reportOverhead(b, offs, ons, n)
	st := w.rec.Stats()
	b.ReportMetric(float64(st.Recorded)/float64(max(st.Batches, 1)), "predictions/batch")
	b.ReportMetric(float64(st.Dropped), "dropped")
	if st.Dropped != 0 || st.Failed != 0 {
		// The figures are of recording every request, or they are wrong.
		b.Fatalf("the recorder dropped %d and failed %d predictions at this load: %+v", st.Dropped, st.Failed, st)
	}
	// The machine's 1-minute load average before and after: the
	// latencies mean little on a loaded machine.
	b.ReportMetric(load, "load-before")
	b.ReportMetric(loadAverage(), "load-after")
}

// sendAll sends n requests at Concurrency and returns their latencies,
// sorted.
func sendAll(b *testing.B, client *http.Client, u string, n int) []time.Duration {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				start := time.Now()
				resp, err := client.Post(u, "application/json", strings.NewReader(`{"instances":[1.5,2.5,3.5]}`))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(start)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	slices.Sort(lat)
	return lat
}

// reportOverhead reports the medians over rounds of each run's p50 and p99
// and of the paired differences, the differences' confidence interval,
// the p99 of all runs' requests pooled, and the CPU time a request.
func reportOverhead(b *testing.B, offs, ons []run, n int) {
	per := func(rs []run, f func(run) float64) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	diff := func(p float64) []float64 {
		out := make([]float64, len(ons))
		for i := range ons {
			out[i] = ons[i].pct(p) - offs[i].pct(p)
		}
		return out
	}
	p50 := func(r run) float64 { return r.pct(0.50) }
	p99 := func(r run) float64 { return r.pct(0.99) }
	med := func(xs []float64) float64 { m, _, _ := medianCI(xs); return m }
	b.ReportMetric(med(per(offs, p50)), "off-p50-µs")
	b.ReportMetric(med(per(offs, p99)), "off-p99-µs")
	b.ReportMetric(med(per(ons, p50)), "on-p50-µs")
	b.ReportMetric(med(per(ons, p99)), "on-p99-µs")
	b.ReportMetric(med(diff(0.50)), "added-p50-µs")
	m, lo, hi := medianCI(diff(0.99))
	b.ReportMetric(m, "added-p99-µs")
	b.ReportMetric(lo, "added-p99-lo-µs")
	b.ReportMetric(hi, "added-p99-hi-µs")
	pooled := func(rs []run) run {
		var all run
		for _, r := range rs {
			all.lat = append(all.lat, r.lat...)
		}
		slices.Sort(all.lat)
		return all
	}
	b.ReportMetric(pooled(ons).pct(0.99)-pooled(offs).pct(0.99), "pooled-added-p99-µs")
	cpu := func(rs []run) float64 {
		var t time.Duration
		for _, r := range rs {
			t += r.cpu
		}
		return float64(t.Nanoseconds()) / float64(len(rs)*n) / 1e3
	}
	// CPU time a request: what recording costs whatever the machine's
	// load, unlike the latencies.
	b.ReportMetric(cpu(offs), "off-cpu-µs/req")
	b.ReportMetric(cpu(ons)-cpu(offs), "added-cpu-µs/req")
	// Bytes allocated a request and garbage collections a run: the
	// collector's work slows the requests in flight while it marks, and
	// more garbage means more collections; like the CPU time, these do
	// not depend on the machine's load.
	alloc := func(rs []run) float64 {
		var a uint64
		for _, r := range rs {
			a += r.alloc
		}
		return float64(a) / float64(len(rs)*n)
	}
	gcs := func(rs []run) float64 {
		var g uint32
		for _, r := range rs {
			g += r.gcs
		}
		return float64(g) / float64(len(rs))
	}
	b.ReportMetric(alloc(offs), "off-B/req")
	b.ReportMetric(alloc(ons)-alloc(offs), "added-B/req")
	b.ReportMetric(gcs(offs), "off-gc/run")
	b.ReportMetric(gcs(ons)-gcs(offs), "added-gc/run")
}

// medianCI is the median of xs and a distribution-free confidence
// interval of it of at least 95%: the order statistics x(k) and
// x(n+1-k) with k the largest for which P(Binomial(n, ½) < k) ≤ 2.5%
// (the sign test). Below 6 values no k qualifies; the interval is then
// the range.
func medianCI(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0, 0, 0
	}
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	k, cum, term := 0, 0.0, math.Pow(0.5, float64(n)) // term: P(B = i)
	for i := 0; i < n; i++ {
		if cum+term > 0.025 {
			break
		}
		cum += term
		k = i + 1
		term = term * float64(n-i) / float64(i+1)
	}
	if k == 0 {
		return med, s[0], s[n-1]
	}
	return med, s[k-1], s[n-k]
}

// multiUserReads is what a multi-user server reads before it forwards a
// prediction (runtime/apiserver: authenticate, then authorize's holder of
// the deployment): the caller by token hash, with roles and groups, and
// who holds deployment "bench".
func multiUserReads(b *testing.B, st *store.Store) func(*http.Request) {
	ctx := context.Background()
	if err := st.CreateUser(ctx, &store.User{Name: "ana", Roles: []string{"data-scientist"}, Groups: []string{"default"}}); err != nil {
		b.Fatal(err)
	}
	const hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if err := st.AddToken(ctx, "ana", hash); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Own(ctx, store.Ownership{Kind: store.KindDeployment, ID: "bench", Owner: "ana"}); err != nil {
		b.Fatal(err)
	}
	return func(r *http.Request) {
		if u, err := st.UserByToken(r.Context(), hash); err != nil || u.Name != "ana" {
			b.Errorf("token: %+v %v", u, err)
		}
		if o, err := st.Holding(r.Context(), store.KindDeployment, "bench"); err != nil || o.Owner != "ana" {
			b.Errorf("holder: %+v %v", o, errors.Join(err, fmt.Errorf("owner %q", o.Owner)))
		}
	}
}

// cpuTime is the user and system CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the 1-minute load average (Linux), -1 when unknown.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	var l float64
	if _, err := fmt.Sscan(string(data), &l); err != nil {
		return -1
	}
	return l
}

func TestMedianCI(t *testing.T) {
	xs := make([]float64, 20)
	for i := range xs {
		xs[i] = float64(20 - i) // 20 .. 1
	}
	// n = 20: P(B ≤ 5) = 2.07%, P(B ≤ 6) = 5.77%: k = 6, x(6) .. x(15).
	if m, lo, hi := medianCI(xs); m != 10.5 || lo != 6 || hi != 15 {
		t.Fatalf("medianCI(1..20) = %v [%v, %v], want 10.5 [6, 15]", m, lo, hi)
	}
	if m, lo, hi := medianCI([]float64{3, 1, 2}); m != 2 || lo != 1 || hi != 3 {
		t.Fatalf("medianCI of 3 = %v [%v, %v], want 2 [1, 3]", m, lo, hi)
	}
	// n = 6: P(B = 0) = 1.6%: k = 1, the range.
	if _, lo, hi := medianCI([]float64{1, 2, 3, 4, 5, 6}); lo != 1 || hi != 6 {
		t.Fatalf("medianCI of 6: [%v, %v], want [1, 6]", lo, hi)
	}
}
