package recorder

import (
	"bytes"
	"runtime"

	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
)

// gathering is the batch the worker is gathering, already encoded: per
// deployment, in the order they first came, the payload object's lines
// and the summaries. Its buffers are kept from one batch to the next
// (up to keepBytes a deployment, for keepDeployments of them): a batch
// allocated its buffers anew, and their growth was a fifth of the bytes
// a recorded request cost the process's garbage collector.
type gathering struct {
	n     int            // predictions
	bytes int            // of payload lines
	deps  []*gathered    // deps[:used] are this batch's
	used  int            //
	index map[string]int // deployment -> deps index
	all   []store.Prediction
}

// gathered is one deployment's part of a batch.
type gathered struct {
	name  string
	lines bytes.Buffer       // the payload object
	sums  []store.Prediction // PayloadKey is set when the object is written
}

// keepBytes and keepDeployments bound what a gathering keeps between
// batches.
const (
	keepBytes       = 1 << 20
	keepDeployments = 16
)

// yieldEvery is how many predictions the worker encodes before it lets
// the requests waiting for its processor run: Go preempts a goroutine
// only after 10 ms, and a batch's encoding done in one go held one of the
// processors for its whole length, so the requests queued behind it
// waited that long (the tail of BenchmarkRecordingOverhead's latencies).
const yieldEvery = 16

// add encodes p into its deployment's part: its payload line, and its
// summary with the rows read from the line's compacted bodies.
func (g *gathering) add(p serving.Prediction) {
	i, ok := g.index[p.Deployment]
	if !ok {
		if g.used == len(g.deps) {
			g.deps = append(g.deps, &gathered{})
		}
		i = g.used
		g.used++
		g.deps[i].name = p.Deployment
		g.index[p.Deployment] = i
	}
	d := g.deps[i]
	before := d.lines.Len()
	req, resp := appendPayload(&d.lines, p)
	g.bytes += d.lines.Len() - before
	b := d.lines.Bytes()
	in, out := compactRows(p.Protocol, b[req[0]:req[1]:req[1]], b[resp[0]:resp[1]:resp[1]])
	d.sums = append(d.sums, store.Prediction{Deployment: p.Deployment, Model: p.Model, Protocol: p.Protocol, At: p.At, Latency: p.Latency,
		Status: p.Status, Inputs: in, Outputs: out, PayloadLine: len(d.sums)})
	if g.n++; g.n%yieldEvery == 0 {
		runtime.Gosched()
	}
}

// reset empties the gathering for the next batch, keeping its buffers
// within bounds (and no strings of this batch's summaries alive).
func (g *gathering) reset() {
	for i, d := range g.deps[:g.used] {
		if i >= keepDeployments {
			break // cut below
		}
		if d.lines.Cap() > keepBytes {
			g.deps[i] = &gathered{}
			continue
		}
		clear(d.sums)
		d.name, d.sums = "", d.sums[:0]
		d.lines.Reset()
	}
	if len(g.deps) > keepDeployments {
		clear(g.deps[keepDeployments:])
		g.deps = g.deps[:keepDeployments]
	}
	clear(g.all)
	g.all = g.all[:0]
	clear(g.index)
	g.used, g.n, g.bytes = 0, 0, 0
}
