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

// progress shows one line per step with its state and duration: redrawn in
// place on a terminal, appended as lines change otherwise.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	drawn    int               // lines drawn last time (tty)
	last     map[string]string // node id -> last printed line (plain)
	lines    []string
	logLines []string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, last: map[string]string{}}
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
	if p.tty {
		p.clear()
		fmt.Fprint(p.w, string(b))
		p.draw()
	} else {
		fmt.Fprint(p.w, string(b))
	}
	return len(b), nil
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

// update receives status snapshots from the engine.
func (p *progress) update(wf *wfv1.Workflow) {
	var steps []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod || n.Type == wfv1.NodeTypeSkipped {
			steps = append(steps, n)
		}
	}
	sort.Slice(steps, func(i, j int) bool { return stepBefore(steps[i], steps[j], wf.Status.Nodes) })
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.lines = p.lines[:0]
		for _, n := range steps {
			p.lines = append(p.lines, stepLine(n, stepName(n, wf.Status.Nodes), now))
		}
		p.clear()
		p.draw()
		return
	}
	for _, n := range steps {
		state := string(n.Phase)
		if p.last[n.ID] == state || n.Phase == wfv1.NodePending {
			continue
		}
		p.last[n.ID] = state
		fmt.Fprintln(p.w, stepLine(n, stepName(n, wf.Status.Nodes), now))
	}
}

func (p *progress) clear() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
		p.drawn = 0
	}
}

func (p *progress) draw() {
	if len(p.lines) > 0 {
		fmt.Fprintln(p.w, strings.Join(p.lines, "\n"))
	}
	p.drawn = len(p.lines)
}

func (p *progress) close() {}
