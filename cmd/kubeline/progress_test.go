package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func step(i int, phase wfv1.NodePhase) wfv1.NodeStatus {
	start := metav1.NewTime(time.Unix(1000+int64(i), 0))
	n := wfv1.NodeStatus{ID: fmt.Sprintf("id-%03d", i), Name: fmt.Sprintf("wf.s%03d", i), DisplayName: fmt.Sprintf("s%03d", i),
		Type: wfv1.NodeTypePod, Phase: phase, StartedAt: start}
	if phase.Fulfilled(nil) {
		n.FinishedAt = metav1.NewTime(start.Add(time.Second))
	}
	return n
}

// TestProgressPlain: off a terminal, a line per step state change —
// Pending and repeated states print nothing, nor do DAG nodes.
func TestProgressPlain(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out)
	dag := wfv1.NodeStatus{ID: "dag", DisplayName: "dag", Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeRunning}
	p.nodes([]wfv1.NodeStatus{dag, step(1, wfv1.NodePending)})
	p.nodes([]wfv1.NodeStatus{step(1, wfv1.NodeRunning), step(2, wfv1.NodeSkipped)})
	p.nodes([]wfv1.NodeStatus{step(1, wfv1.NodeRunning)})
	p.nodes([]wfv1.NodeStatus{step(1, wfv1.NodeSucceeded)})
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		got = append(got, strings.Join(strings.Fields(l)[:3], " "))
	}
	want := []string{"… s001 Running", "- s002 Skipped", "✓ s001 Succeeded"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	// Off a terminal nothing is redrawn: no step's status is kept.
	if len(p.steps) != 0 {
		t.Errorf("%d step states kept, want none", len(p.steps))
	}
}

var redraw = regexp.MustCompile(`\x1b\[(\d+)A\x1b\[J`)

// screen plays the output on a terminal: a redraw (cursor up N, clear
// down) removes the last N lines. It returns the lines left and the most
// lines any one drawing had.
func screen(out string) (lines []string, biggest int) {
	for len(out) > 0 {
		loc := redraw.FindStringSubmatchIndex(out)
		text := out
		if loc != nil {
			text = out[:loc[0]]
		}
		lines = append(lines, strings.Split(strings.TrimSuffix(text, "\n"), "\n")...)
		if text == "" {
			lines = lines[:len(lines)-1]
		}
		if loc == nil {
			break
		}
		n, _ := strconv.Atoi(out[loc[2]:loc[3]])
		biggest = max(biggest, n)
		lines = lines[:len(lines)-n]
		out = out[loc[1]:]
	}
	return lines, biggest
}

// TestProgressTerminal: on a terminal, a few steps are one table redrawn
// in place; many steps scroll past once each as they finish, and only
// the running ones are redrawn, at most liveSteps lines — so a change
// costs the same whatever the number of steps.
func TestProgressTerminal(t *testing.T) {
	for _, n := range []int{5, 300} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out)
			p.tty = true
			// Steps run 30 at a time; each delivery starts some and ends others.
			for i := 0; i < n+30; i += 10 {
				var batch []wfv1.NodeStatus
				for j := i; j < i+10 && j < n; j++ {
					batch = append(batch, step(j, wfv1.NodePending), step(j, wfv1.NodeRunning))
				}
				for j := i - 30; j < i-20; j++ {
					if j >= 0 && j < n {
						batch = append(batch, step(j, wfv1.NodeSucceeded))
					}
				}
				p.nodes(batch)
			}
			lines, biggest := screen(out.String())
			var want []string
			for i := 0; i < n; i++ {
				want = append(want, fmt.Sprintf("✓ s%03d Succeeded", i))
			}
			var got []string
			for _, l := range lines {
				if f := strings.Fields(l); len(f) >= 3 {
					got = append(got, strings.Join(f[:3], " "))
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the screen at the end (-want +got):\n%s", diff)
			}
			// Bounds stated here, not read from the code under test.
			if n == 300 && biggest > 40 {
				t.Errorf("a redraw of %d lines: more than 40", biggest)
			}
			// Scrolling, a finished step is forgotten once printed: what is
			// kept is the running steps' state (none at the end).
			if n == 300 && len(p.steps) != 0 {
				t.Errorf("%d step states kept at the end, want none", len(p.steps))
			}
			if n == 300 {
				tail := out.String()[strings.LastIndex(out.String(), "s200"):]
				if _, b := screen(tail); b > 20 {
					t.Errorf("scrolling redraws of %d lines: more than 20", b)
				}
			}
		})
	}
}
