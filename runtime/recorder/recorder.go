package recorder

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
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
	// Batch is how many predictions one write takes at most (256 when 0).
	Batch int
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
	// trimmed (the worker's own).
	since map[string]int
}

// New returns a recorder writing summaries to sum and bodies through put
// and del (an artifact store's Put and Delete).
func New(sum Summaries, put func(ctx context.Context, key string, data []byte) error, del func(ctx context.Context, key string) error, o Options) *Recorder {
	if o.Queue == 0 {
		o.Queue = 4096
	}
	if o.Batch == 0 {
		o.Batch = 256
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
	r := &Recorder{sum: sum, put: put, del: del, opts: o, q: make(chan serving.Prediction, o.Queue), since: map[string]int{}}
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
// predictions. The worker takes what is queued every Gather/gatherPolls
// rather than receiving predictions one by one as they come: a request's
// Record then only copies its prediction into the queue's buffer and
// does not wake the worker (a goroutine switch per request, with the
// channel's lock held meanwhile).
func (r *Recorder) batch(ctx context.Context, p serving.Prediction) {
	ps := append(make([]serving.Prediction, 0, r.opts.Batch), p)
	deadline := time.Now().Add(r.opts.Gather)
	poll := max(r.opts.Gather/gatherPolls, time.Millisecond)
	for {
	take:
		for len(ps) < r.opts.Batch {
			select {
			case q := <-r.q:
				ps = append(ps, q)
			default:
				break take
			}
		}
		left := time.Until(deadline)
		if len(ps) >= r.opts.Batch || left <= 0 {
			break
		}
		time.Sleep(min(poll, left))
	}
	defer r.pending.Add(-int64(len(ps)))
	if err := r.write(ctx, ps); err != nil {
		r.failed.Add(int64(len(ps)))
		r.opts.Log.Warn("recording predictions failed: they are lost", "predictions", len(ps), "err", err)
		return
	}
	r.recorded.Add(int64(len(ps)))
	r.batches.Add(1)
}

// yieldEvery is how many predictions the worker encodes before it lets
// the requests waiting for its processor run: Go preempts a goroutine
// only after 10 ms, and a batch's encoding done in one go held one of the
// processors for its whole length, so the requests queued behind it
// waited that long (the tail of BenchmarkRecordingOverhead's latencies).
const yieldEvery = 16

// write stores one batch: per deployment a JSON-lines payload object, then
// the summaries; then trims each deployment and notifies.
func (r *Recorder) write(ctx context.Context, ps []serving.Prediction) error {
	byDep := map[string][]serving.Prediction{}
	var order []string
	for _, p := range ps {
		if _, ok := byDep[p.Deployment]; !ok {
			order = append(order, p.Deployment)
		}
		byDep[p.Deployment] = append(byDep[p.Deployment], p)
	}
	var sums []store.Prediction
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	for _, dep := range order {
		key := fmt.Sprintf("predictions/%s/%s.jsonl", dep, stamp)
		var buf bytes.Buffer
		for i, p := range byDep[dep] {
			req, resp := appendPayload(&buf, p)
			b := buf.Bytes()
			in, out := compactRows(p.Protocol, b[req[0]:req[1]:req[1]], b[resp[0]:resp[1]:resp[1]])
			sums = append(sums, store.Prediction{Deployment: dep, Model: p.Model, Protocol: p.Protocol, At: p.At, Latency: p.Latency,
				Status: p.Status, Inputs: in, Outputs: out, PayloadKey: key, PayloadLine: i})
			if i%yieldEvery == yieldEvery-1 {
				runtime.Gosched()
			}
		}
		if err := r.put(ctx, key, buf.Bytes()); err != nil {
			return fmt.Errorf("payloads of %s: %w", dep, err)
		}
	}
	if err := r.sum.AddPredictions(ctx, sums); err != nil {
		return err
	}
	for _, dep := range order {
		// Trim once a tenth of Keep more were recorded: a deployment
		// holds at most Keep + Keep/10 + Batch summaries.
		if r.since[dep] += len(byDep[dep]); r.since[dep] < max(r.opts.Keep/10, 1) {
			continue
		}
		r.since[dep] = 0
		gone, err := r.sum.TrimPredictions(ctx, dep, r.opts.Keep)
		if err != nil {
			r.opts.Log.Warn("trim recorded predictions", "deployment", dep, "err", err)
			continue
		}
		for _, k := range gone {
			if err := r.del(ctx, k); err != nil {
				r.opts.Log.Warn("delete recorded payloads", "key", k, "err", err)
			}
		}
	}
	if r.opts.Notify != nil {
		r.opts.Notify(order)
	}
	return nil
}
