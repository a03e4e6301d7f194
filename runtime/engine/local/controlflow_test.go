package local_test

import (
	"regexp"
	"strconv"
	"time"

	"bufio"
	"os"
	"path/filepath"
	"sigs.k8s.io/yaml"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// Hand-written pipelines under testdata/, each testing one control-flow
// feature through compile + run.

func TestConditionsAndOneOf(t *testing.T) {
	for pick, want := range map[string]string{"a": "branch-a", "b": "branch-b", "zzz": "branch-else"} {
		t.Run(pick, func(t *testing.T) {
			wf, logs := runFile(t, "testdata/branches.yaml", map[string]string{"pick": pick})
			if wf.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
			}
			if got := wf.Status.Outputs.Parameters[0].Value.String(); got != want {
				t.Fatalf("output %q, want %q", got, want)
			}
			ran, skipped := 0, 0
			for _, n := range wf.Status.Nodes {
				if strings.HasPrefix(n.DisplayName, "condition-") && !strings.HasPrefix(n.DisplayName, "condition-branches") && n.Type == wfv1.NodeTypeDAG {
					ran++
				}
				if n.Type == wfv1.NodeTypeSkipped {
					skipped++
				}
			}
			if ran != 1 || skipped != 2 {
				t.Fatalf("want one branch run and two skipped, got %d and %d\n%s", ran, skipped, summary(wf))
			}
			checkGraph(t, wf)
		})
	}
}

func TestParallelForLimitAndCollected(t *testing.T) {
	dir := t.TempDir()
	wf, logs := runFile(t, "testdata/loop.yaml", map[string]string{"logdir": dir})
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
	}
	if got := wf.Status.Outputs.Parameters[0].Value.String(); got != "91" { // 1+4+9+16+25+36
		t.Fatalf("sum of collected squares %s, want 91", got)
	}
	if peak := peakConcurrency(t, filepath.Join(dir, "events")); peak != 2 {
		t.Fatalf("peak concurrency %d, want the parallelismLimit 2", peak)
	}
	checkGraph(t, wf)
}

// peakConcurrency reads "start NS"/"end NS" events and returns the most
// iterations that ran at once.
func peakConcurrency(t *testing.T, path string) int { return peakOf(t, path, 6) }

func peakOf(t *testing.T, path string, iterations int) int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type ev struct {
		ts    string
		delta int
	}
	var evs []ev
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, ts, _ := strings.Cut(sc.Text(), " ")
		d := 1
		if kind == "end" {
			d = -1
		}
		evs = append(evs, ev{ts, d})
	}
	if len(evs) != 2*iterations {
		t.Fatalf("want %d events (%d iterations), got %d", 2*iterations, iterations, len(evs))
	}
	// Same-length nanosecond timestamps sort as strings; ends first on ties.
	for i := range evs {
		for j := i + 1; j < len(evs); j++ {
			if evs[j].ts < evs[i].ts || (evs[j].ts == evs[i].ts && evs[j].delta < evs[i].delta) {
				evs[i], evs[j] = evs[j], evs[i]
			}
		}
	}
	cur, peak := 0, 0
	for _, e := range evs {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}

func TestNestedPipeline(t *testing.T) {
	wf, logs := runFile(t, "testdata/nested.yaml", map[string]string{"start": "5"})
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
	}
	if got := wf.Status.Outputs.Parameters[0].Value.String(); got != "40" {
		t.Fatalf("output %s, want 40", got)
	}
	inner := nodesByDisplay(wf)["inner"]
	if inner.Type != wfv1.NodeTypeDAG || len(inner.Children) != 1 {
		t.Fatalf("inner pipeline node %+v", inner)
	}
	checkGraph(t, wf)
}

func TestExitHandlerSeesFailure(t *testing.T) {
	wf, logs := runFile(t, "testdata/exit.yaml", nil)
	if wf.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("phase %s, want Failed (the body failed)\n%s", wf.Status.Phase, summary(wf))
	}
	var exit *wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if strings.HasSuffix(n.Name, ".onExit") {
			exit = &n
		}
	}
	if exit == nil || exit.Phase != wfv1.NodeSucceeded {
		t.Fatalf("exit task did not run and succeed\n%s", summary(wf))
	}
	if got := param(t, *exit, "Output"); !strings.Contains(got, `"state":"FAILED"`) || !strings.Contains(got, `"pipelineTaskName":"exit-handler-1"`) {
		t.Fatalf("exit task saw %s", got)
	}
	wantLog(t, logs, "failing on purpose")
	if f := nodesByDisplay(wf)["fail"]; f.Message != "main: Error (exit code 3)" {
		t.Fatalf("failed step message %q", f.Message)
	}
	checkGraph(t, wf)
}

func TestRetry(t *testing.T) {
	dir := t.TempDir()
	wf, logs := runFile(t, "testdata/retry.yaml", map[string]string{"statedir": dir})
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
	}
	retry := nodesByDisplay(wf)["flaky"]
	if retry.Type != wfv1.NodeTypeRetry || len(retry.Children) != 3 {
		t.Fatalf("retry node %+v", retry)
	}
	phases := []wfv1.NodePhase{wfv1.NodeFailed, wfv1.NodeFailed, wfv1.NodeSucceeded}
	for i, c := range retry.Children {
		n := wf.Status.Nodes[c]
		if n.Phase != phases[i] || n.NodeFlag == nil || !n.NodeFlag.Retried {
			t.Fatalf("attempt %d: %s %s %+v", i, n.DisplayName, n.Phase, n.NodeFlag)
		}
	}
	checkGraph(t, wf)
}

func TestCaching(t *testing.T) {
	home, state := t.TempDir(), t.TempDir()
	compile := func() *wfv1.Workflow {
		wf, _ := runFileIn(t, "testdata/cache.yaml", map[string]string{"statedir": state}, home)
		return wf
	}
	first, second := compile(), compile()
	for _, wf := range []*wfv1.Workflow{first, second} {
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("phase %s\n%s", wf.Status.Phase, summary(wf))
		}
	}
	b, _ := os.ReadFile(filepath.Join(state, "runs"))
	if got := strings.Count(string(b), "ran"); got != 1 {
		t.Fatalf("the command ran %d times, want once", got)
	}
	n1, n2 := nodesByDisplay(first)["compute"], nodesByDisplay(second)["compute"]
	if n1.MemoizationStatus != nil || n2.MemoizationStatus == nil || !n2.MemoizationStatus.Hit {
		t.Fatalf("memoization: first %+v, second %+v", n1.MemoizationStatus, n2.MemoizationStatus)
	}
	if param(t, n2, "Output") != "42" || n2.Outputs.Artifacts[0].S3.Key != n1.Outputs.Artifacts[0].S3.Key {
		t.Fatalf("cached outputs differ: %+v vs %+v", n2.Outputs, n1.Outputs)
	}
	// Different inputs miss the cache.
	third, _ := runFileIn(t, "testdata/cache.yaml", map[string]string{"statedir": state, "x": "1"}, home)
	if n := nodesByDisplay(third)["compute"]; n.MemoizationStatus != nil || param(t, n, "Output") != "2" {
		t.Fatalf("a new input hit the cache: %+v", n)
	}
}

func TestIgnoreUpstreamFailure(t *testing.T) {
	wf, logs := runFile(t, "testdata/ignore.yaml", nil)
	nodes := nodesByDisplay(wf)
	if nodes["fail"].Phase != wfv1.NodeFailed || nodes["cleanup"].Phase != wfv1.NodeSucceeded {
		t.Fatalf("want fail Failed and cleanup Succeeded\n%s", summary(wf))
	}
	wantLog(t, logs, "cleaning up after upstream")
	// As in Argo, a failure that a dependent's depends handles does not fail
	// the DAG: cleanup, the only target, succeeded.
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s", wf.Status.Phase)
	}
	checkGraph(t, wf)
}

func TestHandWrittenArgoWorkflow(t *testing.T) {
	wf, logs := runFile(t, "testdata/argo-features.yaml", nil)
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s %q\n%s\n%s", wf.Status.Phase, wf.Status.Message, summary(wf), logs)
	}
	for _, want := range []string{
		"hi: item 1 of a", "hi: item 2 of b", // withParam from a script's result, map items
		"hi: s01", "hi: s02", "hi: s03", // withSequence with a format
		"read: RAW SEED TEXT",      // raw input artifact -> output artifact -> input artifact
		"hi: rescued after Failed", // depends on .Failed
		"goodbye, the workflow Succeeded",
	} {
		wantLog(t, logs, want)
	}
	if strings.Contains(logs, "should not run") {
		t.Error("a task whose when is false ran")
	}
	nodes := nodesByDisplay(wf)
	if n := nodes["each(0:n:1,tag:a)"]; n.Phase != wfv1.NodeSucceeded {
		t.Errorf("map item node name: %v", summary(wf))
	}
	if n := nodes["seq(2:s03)"]; n.Phase != wfv1.NodeSucceeded {
		t.Errorf("sequence item node name: %v", summary(wf))
	}
	if n := nodes["slow"]; n.Phase != wfv1.NodeFailed {
		t.Errorf("activeDeadlineSeconds did not stop slow: %s %q", n.Phase, n.Message)
	}
	if n := nodes["never"]; n.Phase != wfv1.NodeSkipped || n.Message != "when 'Succeeded == Failed' evaluated false" {
		t.Errorf("never: %s %q", n.Phase, n.Message)
	}
	checkGraph(t, wf)
}

// TestWorkflowParallelismAndBackoff: spec.parallelism caps running pods
// across the workflow, and retry backoff waits duration * factor^attempt
// between attempts.
func TestWorkflowParallelismAndBackoff(t *testing.T) {
	dir := t.TempDir()
	src := `
metadata: {name: par}
spec:
  entrypoint: main
  parallelism: 2
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: work}
      - {name: b, template: work}
      - {name: c, template: work}
      - {name: d, template: work}
      - {name: e, template: work}
      - {name: flaky, template: flaky}
  - name: work
    container:
      image: alpine
      command: [sh, -c, 'echo "start $(date +%s%N)" >> ` + dir + `/events; sleep 0.3; echo "end $(date +%s%N)" >> ` + dir + `/events']
  - name: flaky
    retryStrategy: {limit: 2, retryPolicy: Always, backoff: {duration: "1", factor: 2}}
    container:
      image: alpine
      command: [sh, -c, 'echo x >> ` + dir + `/tries; [ $(wc -l < ` + dir + `/tries) -ge 3 ]']
`
	wf := &wfv1.Workflow{}
	if err := yaml.UnmarshalStrict([]byte(src), wf); err != nil {
		t.Fatal(err)
	}
	out, logs := runWF(t, wf, t.TempDir())
	if out.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s\n%s\n%s", out.Status.Phase, summary(out), logs)
	}
	// flaky's pods count too, so the sleepers alone may reach at most 2.
	if peak := peakOf(t, filepath.Join(dir, "events"), 5); peak > 2 {
		t.Fatalf("peak concurrency %d with spec.parallelism 2", peak)
	}
	retry := nodesByDisplay(out)["flaky"]
	if len(retry.Children) != 3 {
		t.Fatalf("flaky attempts: %d", len(retry.Children))
	}
	for i, wantGap := range []time.Duration{time.Second, 2 * time.Second} {
		prev, next := out.Status.Nodes[retry.Children[i]], out.Status.Nodes[retry.Children[i+1]]
		if gap := next.StartedAt.Sub(prev.FinishedAt.Time); gap < wantGap-50*time.Millisecond {
			t.Errorf("backoff before attempt %d: %s, want %s", i+1, gap, wantGap)
		}
	}
	checkGraph(t, out)
}

// TestPlatformNeedsKubernetes: what a step's kubernetes platform config asks
// that the embedded engine cannot do is reported on its node; field paths of
// the pod's labels are honoured; a step without such config has no note.
func TestPlatformNeedsKubernetes(t *testing.T) {
	wf, logs := runFile(t, "testdata/platform.yaml", nil)
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
	}
	nodes := nodesByDisplay(wf)
	want := "needs Kubernetes: env USER_NAME from secret creds; volume work at /work; sidecar proxy; node selector; pod spec patch (imagePullSecrets)"
	if got := nodes["comp"].Message; got != want {
		t.Errorf("comp message:\n got %q\nwant %q", got, want)
	}
	if got := nodes["plain"].Message; got != "" {
		t.Errorf("plain message %q, want none", got)
	}
	if !strings.Contains(logs, "needs Kubernetes: env USER_NAME from secret creds") {
		t.Errorf("the step's log does not say what needs Kubernetes:\n%s", logs)
	}
	if !strings.Contains(logs, "team ml") {
		t.Errorf("the field path env was not honoured:\n%s", logs)
	}
}

// TestParallelForStartsInItemOrder: under a parallelismLimit the items of
// a loop take the free slots in item order, as Argo starts them (they took
// them in whatever order their goroutines ran: 5 and 2 first): when item i
// starts, all earlier items but at most one have finished.
func TestParallelForStartsInItemOrder(t *testing.T) {
	for round := 0; round < 3; round++ {
		wf, logs := runFile(t, "testdata/loop.yaml", map[string]string{"logdir": t.TempDir()})
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
		}
		iteration := regexp.MustCompile(`\((\d+):[^()]*\)$`)
		items := map[int]wfv1.NodeStatus{}
		for _, n := range wf.Status.Nodes {
			if m := iteration.FindStringSubmatch(n.DisplayName); m != nil {
				i, _ := strconv.Atoi(m[1])
				items[i] = n
			}
		}
		if len(items) != 6 {
			t.Fatalf("%d iterations, want 6\n%s", len(items), summary(wf))
		}
		for i := 2; i < len(items); i++ {
			done := 0
			for j := 0; j < i; j++ {
				if !items[j].FinishedAt.After(items[i].StartedAt.Time) {
					done++
				}
			}
			if done < i-1 {
				t.Errorf("round %d: item %d started with %d of the %d earlier items finished, want at least %d\n%s", round, i, done, i, i-1, summary(wf))
			}
		}
	}
}
