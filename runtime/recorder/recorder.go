package recorder

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// Summaries keeps prediction summaries (runtime/store.Store).
type Summaries interface {
	AddPredictions(ctx context.Context, ps []store.Prediction) error
	TrimPredictions(ctx context.Context, deployment string, keep int) ([]string, error)
}

// Options size the recorder.
type Options struct {
	// Queue is how many predictions may wait for the worker (4096 when
	// 0); beyond it they are dropped and counted.
	Queue int
	// Batch is how many predictions one write takes at most (1024 when
	// 0), BatchBytes how many bytes of payload lines (4 MiB when 0): a
	// write's cost is mostly the same whatever its size (an artifact-store
	// object and a store transaction), and a batch of 256 filled in 35 ms
	// at 7,000 requests a second, so it was written three times as often
	// as Gather asks for.
	Batch      int
	BatchBytes int
	// Keep is how many summaries each deployment keeps (100,000 when 0).
	Keep int
	// Gather is how long the worker waits for more predictions to fill a
	// batch (Gather when 0).
	Gather time.Duration
	// Notify is called after each batch with the deployments that got
	// predictions (the monitors evaluate them).
	Notify func(deployments []string)
	Log    *slog.Logger
}

// Recorder is the endpoint's serving.Recorder.
type Recorder struct {
	sum   Summaries
	put   func(ctx context.Context, key string, data []byte) error
	del   func(ctx context.Context, key string) error
	opts  Options
	q     chan serving.Prediction
	rates atomic.Pointer[map[string]float64]
	mu    sync.Mutex // SetRate
	// counters
	recorded, dropped, failed atomic.Int64
	batches                   atomic.Int64
	pending                   atomic.Int64
	// droppedLogged is when a full queue was last logged (UnixNano).
	droppedLogged atomic.Int64
	// since counts each deployment's predictions since it was last
	// trimmed, gathered is the batch being gathered (the worker's own).
	since    map[string]int
	gathered gathering
}

// New returns a recorder writing summaries to sum and bodies through put
// and del (an artifact store's Put and Delete; put must not keep data
// after it returns: the worker writes its next batch's lines into it).
func New(sum Summaries, put func(ctx context.Context, key string, data []byte) error, del func(ctx context.Context, key string) error, o Options) *Recorder {
	if o.Queue == 0 {
		o.Queue = 4096
	}
	if o.Batch == 0 {
		o.Batch = 1024
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = 4 << 20
	}
	if o.Keep == 0 {
		o.Keep = 100000
	}
	if o.Gather == 0 {
		o.Gather = Gather
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Recorder{sum: sum, put: put, del: del, opts: o, q: make(chan serving.Prediction, o.Queue), since: map[string]int{},
		gathered: gathering{index: map[string]int{}}}
	r.rates.Store(&map[string]float64{})
	return r
}

// SetRate sets the share of a deployment's requests that is recorded (0
// records none).
func (r *Recorder) SetRate(deployment string, rate float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.rates.Load()
	next := make(map[string]float64, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	if rate > 0 {
		next[deployment] = rate
	} else {
		delete(next, deployment)
	}
	r.rates.Store(&next)
}

// Rate is a deployment's sample rate.
func (r *Recorder) Rate(deployment string) float64 { return (*r.rates.Load())[deployment] }

// Sampled decides whether one request of deployment is recorded.
func (r *Recorder) Sampled(deployment string) bool {
	rate := (*r.rates.Load())[deployment]
	return rate >= 1 || (rate > 0 && rand.Float64() < rate)
}

// DropLogEvery is how often at most a full queue is logged (the first
// drop always is); Stats counts every drop.
const DropLogEvery = 10 * time.Second

// Record queues a prediction, or drops it (counted, and logged at most
// every DropLogEvery) when the queue is full. It never blocks.
func (r *Recorder) Record(p serving.Prediction) {
	r.pending.Add(1)
	select {
	case r.q <- p:
	default:
		r.pending.Add(-1)
		n := r.dropped.Add(1)
		now, last := time.Now().UnixNano(), r.droppedLogged.Load()
		if (last == 0 || now-last >= int64(DropLogEvery)) && r.droppedLogged.CompareAndSwap(last, now) {
			r.opts.Log.Warn("recording queue full: prediction dropped, the request went on", "deployment", p.Deployment,
				"dropped_total", n, "queue", cap(r.q))
		}
	}
}

// Stats are the recorder's counters.
type Stats struct {
	Recorded int64 `json:"recorded"`
	Dropped  int64 `json:"dropped"`
	Failed   int64 `json:"failed"`
	Queued   int   `json:"queued"`
	Capacity int   `json:"capacity"`
	Batches  int64 `json:"batches"` // written
}

// Stats returns the counters: predictions recorded, dropped because the
// queue was full, lost to a store fault, and waiting.
func (r *Recorder) Stats() Stats {
	return Stats{Recorded: r.recorded.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load(), Queued: len(r.q), Capacity: cap(r.q), Batches: r.batches.Load()}
}

// Run drains the queue until ctx ends, then writes what is left.
func (r *Recorder) Run(ctx context.Context) {
	for {
		select {
		case p := <-r.q:
			r.batch(context.WithoutCancel(ctx), p)
		case <-ctx.Done():
			for {
				select {
				case p := <-r.q:
					r.batch(context.WithoutCancel(ctx), p)
				default:
					return
				}
			}
		}
	}
}

// Flush waits until every prediction queued before it is written (tests,
// and the monitors' evaluation on demand).
func (r *Recorder) Flush(ctx context.Context) error {
	for r.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// Gather is how long the worker waits by default for more predictions to
// fill a batch: fewer, larger batches cost the requests' CPU less (each
// batch is a store transaction and an artifact-store object), and a killed
// process loses what was queued and not yet written.
const Gather = 100 * time.Millisecond

// gatherPolls is how many times the worker looks at the queue while it
// gathers a batch.
const gatherPolls = 10

// batch writes p and what else arrives within Gather, up to Batch
// predictions or BatchBytes of payload lines. The worker takes what is queued every Gather/gatherPolls
// rather than receiving predictions one by one as they come: a request's
// Record then only copies its prediction into the queue's buffer and
// does not wake the worker (a goroutine switch per request, with the
// channel's lock held meanwhile). It encodes what it took at once (a
// payload line and the summary's rows each): the encoding's CPU is spread
// over the Gather in small steps, where it was a burst at its end that
// the requests in flight waited behind, and the bodies it took are
// garbage a few milliseconds after their request rather than a whole
// Gather later.
func (r *Recorder) batch(ctx context.Context, p serving.Prediction) {
	g := &r.gathered
	g.add(p)
	deadline := time.Now().Add(r.opts.Gather)
	poll := max(r.opts.Gather/gatherPolls, time.Millisecond)
	for {
	take:
		for !r.full() {
			select {
			case q := <-r.q:
				g.add(q)
			default:
				break take
			}
		}
		left := time.Until(deadline)
		if r.full() || left <= 0 {
			break
		}
		time.Sleep(min(poll, left))
	}
	n := g.n
	defer r.pending.Add(-int64(n))
	if err := r.commit(ctx); err != nil {
		r.failed.Add(int64(n))
		r.opts.Log.Warn("recording predictions failed: they are lost", "predictions", n, "err", err)
		return
	}
	r.recorded.Add(int64(n))
	r.batches.Add(1)
}

// full says the batch being gathered is as large as a batch may be.
func (r *Recorder) full() bool {
	return r.gathered.n >= r.opts.Batch || r.gathered.bytes >= r.opts.BatchBytes
}

// write stores ps as one batch (tests and BenchmarkWrite).
func (r *Recorder) write(ctx context.Context, ps []serving.Prediction) error {
	for _, p := range ps {
		r.gathered.add(p)
	}
	return r.commit(ctx)
}

// commit stores the gathered batch: per deployment its JSON-lines payload
// object, then all the summaries in one transaction; then trims each
// deployment and notifies. The batch's buffers are kept for the next one.
func (r *Recorder) commit(ctx context.Context) error {
	g := &r.gathered
	defer g.reset()
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	all := g.all[:0]
	deps := make([]string, 0, g.used) // Notify's: it may keep them
	for _, d := range g.deps[:g.used] {
		key := "predictions/" + d.name + "/" + stamp + ".jsonl"
		if err := r.put(ctx, key, d.lines.Bytes()); err != nil {
			return fmt.Errorf("payloads of %s: %w", d.name, err)
		}
		for i := range d.sums {
			d.sums[i].PayloadKey = key
		}
		all = append(all, d.sums...)
		deps = append(deps, d.name)
	}
	g.all = all
	if err := r.sum.AddPredictions(ctx, all); err != nil {
		return err
	}
	for _, d := range g.deps[:g.used] {
		// Trim once a tenth of Keep more were recorded: a deployment
		// holds at most Keep + Keep/10 + Batch summaries.
		if r.since[d.name] += len(d.sums); r.since[d.name] < max(r.opts.Keep/10, 1) {
			continue
		}
		r.since[d.name] = 0
		gone, err := r.sum.TrimPredictions(ctx, d.name, r.opts.Keep)
		if err != nil {
			r.opts.Log.Warn("trim recorded predictions", "deployment", d.name, "err", err)
			continue
		}
		for _, k := range gone {
			if err := r.del(ctx, k); err != nil {
				r.opts.Log.Warn("delete recorded payloads", "key", k, "err", err)
			}
		}
	}
	if r.opts.Notify != nil {
		r.opts.Notify(deps)
	}
	return nil
}
