//go:build e2e

package argo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// versioner is one engine's side of a versions test: its bucket and a
// metadata store of its own.
func versioner(t *testing.T, objects artifact.Store) *versioning.Versioner {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "kubeline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &versioning.Versioner{Objects: objects, Records: st, TempDir: t.TempDir()}
}

// produced is what parity compares of a produced version.
type produced struct {
	Kind, Name string
	Version    int
	Digest     string
	Created    bool
	Task       string
}

// TestParityVersions: examples/train-model with a dataset version. Each
// engine's side makes d@v1 from the same rows in its own bucket and
// metadata store; `dataset://d@latest` is resolved to that version's
// content; the run on the real node (its importer reading the version from
// S3 in the pod, train and evaluate in containers, outputs uploaded by
// Argo's executor) must give the same status graph, outputs and artifact
// contents as the embedded run, and the model version recorded from what
// the pods wrote must be the embedded run's: m@v1 with the same digest.
func TestParityVersions(t *testing.T) {
	t.Parallel()
	holdNodeSlot(t)
	c := newRealCluster(t, "versions")
	ctx := context.Background()
	rows := filepath.Join(t.TempDir(), "rows.txt")
	if err := os.WriteFile(rows, []byte("a\nb\nc\nd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vl, va := versioner(t, c.localStore), versioner(t, c.argoStore)
	for _, v := range []*versioning.Versioner{vl, va} {
		if _, err := v.CreateFrom(ctx, "dataset", "d", rows, nil); err != nil {
			t.Fatal(err)
		}
	}
	wf := compileFile(t, "../../../examples/train-model/pipeline.yaml", map[string]string{"lr": "0.1"}, "train")
	onLocal, onArgo := wf.DeepCopy(), wf.DeepCopy()
	if err := vl.Resolve(ctx, onLocal); err != nil {
		t.Fatal(err)
	}
	if err := va.Resolve(ctx, onArgo); err != nil {
		t.Fatal(err)
	}
	want, err := c.runLocal(t.TempDir(), onLocal)
	if err != nil {
		t.Fatal(err)
	}
	got := c.run(t, onArgo, 5*time.Minute)
	if want.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("the embedded run %s: %s", want.Status.Phase, want.Status.Message)
	}
	compareRuns(t, c, want, got)

	rl, err := vl.Record(ctx, "run", want, nil)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := va.Record(ctx, "run", got, nil)
	if err != nil {
		t.Fatal(err)
	}
	pick := func(r *versioning.Recorded) []produced {
		var out []produced
		for _, p := range r.Produced {
			out = append(out, produced{p.Kind, p.Name, p.Version, p.Digest, p.Created, p.Task})
		}
		return out
	}
	if d := cmp.Diff(pick(rl), pick(ra)); d != "" || len(rl.Produced) != 1 {
		t.Errorf("versions the runs produced (-embedded +argo):\n%s", d)
	}
	t.Logf("both runs made %+v", pick(ra))
	if len(ra.Used) != 1 || ra.Used[0].Name != "d" || ra.Used[0].Version != 1 {
		t.Errorf("the run on Argo used %+v, want d@v1", ra.Used)
	}
}

// compareRuns compares two runs of one workflow node for node: the status
// graph, the outputs and the artifacts' content read back from each
// engine's bucket.
func compareRuns(t *testing.T, c *realCluster, want, got *wfv1.Workflow) {
	t.Helper()
	ctx := context.Background()
	wantG, err := graph(ctx, want, c.localStore, strings.NewReplacer("minio://"+localBucket+"/", "minio://"+argoBucket+"/"))
	if err != nil {
		t.Fatal(err)
	}
	gotG, err := graph(ctx, got, c.argoStore, strings.NewReplacer())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantG, gotG); d != "" {
		t.Errorf("status graphs differ (-embedded +argo):\n%s\n%s", d, c.Pods(got.Name))
	}
	if want.Status.Phase != got.Status.Phase {
		t.Errorf("phase: embedded %s, argo %s (%s)", want.Status.Phase, got.Status.Phase, got.Status.Message)
	}
}

// TestParityHPO: examples/hpo's experiment (Bayesian optimisation, seeded)
// compiled into its one workflow, run on both engines: the suggest and
// observe steps and every trial's steps in pods on the real node, their
// records in S3. The status graphs (every round and trial), the trials'
// parameters, metrics and phases, and the experiment's end must be the
// same.
func TestParityHPO(t *testing.T) {
	t.Parallel()
	holdNodeSlot(t)
	c := newRealCluster(t, "hpo")
	data, err := os.ReadFile("../../../examples/hpo/experiment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile("experiment.yaml", data, compiler.Options{BaseDir: "../../../examples/hpo"})
	if err != nil {
		t.Fatal(err)
	}
	prioritise(t, wf)
	parityExperiment(t, c, wf, "hpo")
}

// prioritise gives every container of wf a CPU request, so that its pods get
// the node's CPU before the BestEffort pods of the tests beside it: the
// kubelet weighs all BestEffort pods together at cgroup cpu.shares 2 and a
// Burstable pod at its request (100m: 102), and 100m a pod still leaves
// room for twenty. TestParityHPO is the package's critical path, rounds of
// suggest, trials and observe one pod after another (about 5.5 minutes
// alone here): under make e2e's load, sharing the CPU evenly, it ended
// minutes after every other test. The embedded engine ignores CPU
// requests, and the compared status graphs do not hold them.
func prioritise(t *testing.T, wf *wfv1.Workflow) {
	t.Helper()
	n := 0
	for i := range wf.Spec.Templates {
		if c := wf.Spec.Templates[i].Container; c != nil {
			if c.Resources.Requests == nil {
				c.Resources.Requests = corev1.ResourceList{}
			}
			c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("100m")
			n++
		}
	}
	if n == 0 {
		t.Fatal("the compiled experiment has no container templates")
	}
}

// TestParityHPOFaults: a trial whose training step exits 1, is retried and
// fails again (examples/hpo's pipeline fails when x > fail_above; the
// step gets Argo's retryStrategy) is observed as a Failed record on both
// engines, beside a trial that succeeded, and the experiment ends alike.
func TestParityHPOFaults(t *testing.T) {
	t.Parallel()
	holdNodeSlot(t)
	c := newRealCluster(t, "hpof")
	const experiment = `apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: faults}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: grid}
  parallelTrialCount: 2
  maxTrialCount: 2
  maxFailedTrialCount: 1
  parameters:
  - {name: x, parameterType: discrete, feasibleSpace: {list: ["1", "3"]}}
  trialTemplate:
    pipelineFile: pipeline.yaml
    trialParameters: [{name: x, reference: x}]
    parameters: {x: "${trialParameters.x}", epochs: "1", fail_above: "2"}
`
	wf, err := compiler.Compile("experiment.yaml", []byte(experiment), compiler.Options{BaseDir: "../../../examples/hpo"})
	if err != nil {
		t.Fatal(err)
	}
	retried := false
	for i := range wf.Spec.Templates {
		if tm := &wf.Spec.Templates[i]; tm.Name == "trial-train" {
			one := intstr.FromInt(1)
			tm.RetryStrategy, retried = &wfv1.RetryStrategy{Limit: &one}, true
		}
	}
	if !retried {
		t.Fatal("the compiled experiment has no trial-train template")
	}
	records, st := parityExperiment(t, c, wf, "hpof")
	var states []string
	for _, r := range records {
		states = append(states, r.Name+" "+string(r.State))
	}
	if d := cmp.Diff([]string{"faults-1 Succeeded", "faults-2 Failed"}, states); d != "" {
		t.Errorf("trial records on Argo (-want +got):\n%s", d)
	}
	if st.TrialsFailed != 1 || st.Conditions[len(st.Conditions)-1].Reason != hpo.ReasonMaxTrials {
		t.Errorf("status on Argo: %+v", st)
	}
}

// parityExperiment runs a compiled experiment on the embedded engine and on
// the real node and compares the status graphs, the trial records and the
// experiment's status; it returns Argo's records and status.
func parityExperiment(t *testing.T, c *realCluster, wf *wfv1.Workflow, prefix string) ([]hpo.Record, hpo.Status) {
	t.Helper()
	wf.Name, wf.GenerateName = dnsName(prefix, time.Now().UnixNano()%1e6), ""
	want, err := c.runLocal(t.TempDir(), wf)
	if err != nil {
		t.Fatal(err)
	}
	got := c.run(t, wf.DeepCopy(), 15*time.Minute)
	ctx := context.Background()
	defer func() {
		if t.Failed() {
			t.Logf("the run on Argo, in time order:\n%s", hpoTimeline(ctx, got, c.argoStore))
		}
	}()
	compareRuns(t, c, want, got)
	rw, err := launcher.ReadRecords(ctx, c.localStore, string(want.UID))
	if err != nil {
		t.Fatal(err)
	}
	rg, err := launcher.ReadRecords(ctx, c.argoStore, string(got.UID))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(rw, rg); d != "" || len(rw) == 0 {
		t.Errorf("trial records differ (-embedded +argo):\n%s", d)
	}
	sw, err := launcher.ReadStatus(ctx, c.localStore, string(want.UID))
	if err != nil {
		t.Fatal(err)
	}
	sg, err := launcher.ReadStatus(ctx, c.argoStore, string(got.UID))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sw, sg); d != "" {
		t.Errorf("the experiment's status differs (-embedded +argo):\n%s", d)
	}
	t.Logf("%d trials on both; %+v", len(rg), sg.Conditions)
	return rg, sg
}

// hpoTimeline is when each pod of an experiment's run started and ended
// and when each of its records was last written, in time order: what a
// failure of TestParityHPO is read from.
func hpoTimeline(ctx context.Context, wf *wfv1.Workflow, objects artifact.Store) string {
	type event struct {
		at   time.Time
		what string
	}
	var evs []event
	for _, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod {
			continue
		}
		evs = append(evs, event{n.StartedAt.Time, "start " + n.Name})
		if !n.FinishedAt.IsZero() {
			evs = append(evs, event{n.FinishedAt.Time, fmt.Sprintf("end   %s: %s %s", n.Name, n.Phase, n.Message)})
		}
	}
	objs, err := objects.List(ctx, launcher.RecordsPrefix(string(wf.UID)))
	if err != nil {
		return err.Error()
	}
	for _, o := range objs {
		evs = append(evs, event{o.Modified, "wrote " + strings.TrimPrefix(o.Key, launcher.RecordsPrefix(string(wf.UID)))})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s %s\n", e.at.UTC().Format("15:04:05.000"), e.what)
	}
	return b.String()
}
