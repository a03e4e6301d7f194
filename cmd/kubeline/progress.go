package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Terminal display sizes: up to tableSteps steps are drawn as one table
// redrawn in place; beyond that finished steps scroll past once and only
// the running ones (at most liveSteps lines) are redrawn.
const (
	tableSteps = 40
	liveSteps  = 20
)

// progress shows one line per step with its state and duration: redrawn in
// place on a terminal, appended as lines change otherwise. It is fed the
// nodes that changed (nodes, the embedded engine's OnNodes) and costs per
// change, not per step of the workflow: a delivery's steps are named and
// ordered once each (stepKey), and what it keeps of each node is a few
// strings (the tree) and the phase it printed, not the node's status.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	drawn    int                        // lines drawn last time (tty)
	tree     nodeTree                   // every node seen: name, display name, boundary (stepName)
	steps    map[string]wfv1.NodeStatus // step node id -> latest state, while a drawing needs it (tty)
	printed  map[string]wfv1.NodePhase  // node id -> phase last printed (plain, scrolling)
	order    []string                   // steps in the order they appeared (table)
	running  map[string]bool            // running steps (scrolling)
	finished []string                   // finished since the last drawing (scrolling)
	scroll   bool                       // more than tableSteps steps: scrolling
	logLines []string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, tree: nodeTree{}, steps: map[string]wfv1.NodeStatus{}, printed: map[string]wfv1.NodePhase{}, running: map[string]bool{}}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb" {
			p.tty = true
		}
	}
	return p
}

// logs receives the steps' output lines.
func (p *progress) logs() io.Writer { return logWriter{p} }

type logWriter struct{ p *progress }

func (l logWriter) Write(b []byte) (int, error) {
	p := l.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		return p.w.Write(b)
	}
	p.clear()
	n, err := p.w.Write(b)
	p.draw()
	return n, err
}

func stepLine(n wfv1.NodeStatus, name string, now time.Time) string {
	end := now
	if !n.FinishedAt.IsZero() {
		end = n.FinishedAt.Time
	}
	d := end.Sub(n.StartedAt.Time).Round(10 * time.Millisecond)
	mark := map[wfv1.NodePhase]string{wfv1.NodeSucceeded: "✓", wfv1.NodeFailed: "✗", wfv1.NodeError: "✗",
		wfv1.NodeSkipped: "-", wfv1.NodeOmitted: "-"}[n.Phase]
	if mark == "" {
		mark = "…"
	}
	extra := ""
	if n.MemoizationStatus != nil && n.MemoizationStatus.Hit {
		extra = " (cached)"
	}
	if n.Message != "" && n.Phase != wfv1.NodeSucceeded {
		extra += " " + n.Message
	}
	return fmt.Sprintf("%s %-40s %-9s %8s%s", mark, name, n.Phase, d, extra)
}

// update receives whole status snapshots (the Argo engine's watch).
func (p *progress) update(wf *wfv1.Workflow) {
	changed := make([]wfv1.NodeStatus, 0, len(wf.Status.Nodes))
	for _, n := range wf.Status.Nodes {
		changed = append(changed, n)
	}
	p.nodes(changed)
}

// line is the line of step k.
func line(k stepKey, now time.Time) string { return stepLine(k.n, k.name(), now) }

// keyed names and orders steps as progress shows them (stepBefore).
func (p *progress) keyed(steps []wfv1.NodeStatus) []stepKey {
	keys := make([]stepKey, len(steps))
	for i, n := range steps {
		keys[i] = keyOf(n, p.tree)
	}
	sort.SliceStable(keys, func(i, j int) bool { return stepBefore(keys[i], keys[j]) })
	return keys
}

// nodes receives the nodes that changed (the embedded engine's OnNodes).
func (p *progress) nodes(changed []wfv1.NodeStatus) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	steps := make([]wfv1.NodeStatus, 0, len(changed))
	for _, n := range changed {
		p.tree[n.ID] = slim(n)
		if n.Type == wfv1.NodeTypePod || n.Type == wfv1.NodeTypeSkipped {
			steps = append(steps, n)
		}
	}
	for _, k := range p.keyed(steps) {
		n := k.n
		if !p.tty {
			if p.printed[n.ID] != n.Phase && n.Phase != wfv1.NodePending {
				p.printed[n.ID] = n.Phase
				fmt.Fprintln(p.w, line(k, now))
			}
			continue
		}
		if _, seen := p.steps[n.ID]; !seen && !p.scroll {
			p.order = append(p.order, n.ID)
		}
		p.steps[n.ID] = n
		switch {
		case n.Phase == wfv1.NodeRunning:
			p.running[n.ID] = true
		case n.Phase.Fulfilled(nil):
			delete(p.running, n.ID)
			p.finished = append(p.finished, n.ID)
		}
	}
	if p.tty {
		p.clear()
		p.draw()
	}
}

func (p *progress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

// draw draws the table, or in scrolling mode prints the steps finished
// since the last drawing and draws the running ones (callers hold p.mu
// and have cleared the last drawing). Scrolling, a step printed finished
// is forgotten but for its printed phase.
func (p *progress) draw() {
	now := time.Now()
	if !p.scroll && len(p.steps) > tableSteps {
		p.scroll = true
		p.finished = p.finished[:0]
		for _, id := range p.order { // everything finished so far, once
			if n := p.steps[id]; n.Phase.Fulfilled(nil) {
				p.finished = append(p.finished, id)
			}
		}
		p.order = nil
	}
	var lines []string
	if !p.scroll {
		p.finished = p.finished[:0]
		steps := make([]wfv1.NodeStatus, 0, len(p.order))
		for _, id := range p.order {
			steps = append(steps, p.steps[id])
		}
		for _, k := range p.keyed(steps) {
			lines = append(lines, line(k, now))
		}
	} else {
		for _, id := range p.finished {
			n, ok := p.steps[id]
			if !ok {
				continue // listed twice, printed already
			}
			if p.printed[id] != n.Phase {
				p.printed[id] = n.Phase
				fmt.Fprintln(p.w, line(keyOf(n, p.tree), now))
			}
			if n.Phase.Fulfilled(nil) {
				delete(p.steps, id)
			}
		}
		p.finished = p.finished[:0]
		lines = p.live(now)
	}
	if len(lines) > 0 {
		fmt.Fprintln(p.w, strings.Join(lines, "\n"))
	}
	p.drawn = len(lines)
}

// live is the scrolling mode's drawing: the running steps, longest
// running first, at most liveSteps lines.
func (p *progress) live(now time.Time) []string {
	run := make([]wfv1.NodeStatus, 0, len(p.running))
	for id := range p.running {
		run = append(run, p.steps[id])
	}
	var lines []string
	for i, k := range p.keyed(run) {
		if i == liveSteps-1 && len(run) > liveSteps {
			lines = append(lines, fmt.Sprintf("… and %d more running", len(run)-i))
			break
		}
		lines = append(lines, line(k, now))
	}
	return lines
}

func (p *progress) close() {}
