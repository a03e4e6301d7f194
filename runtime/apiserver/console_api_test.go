package apiserver_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// TestQueueAndPoolHistory: one node with 2 GPUs shared by groups a and b.
// Alice's 2-GPU run holds them; her second run, Bob's and Carol's (group b)
// wait. The queue lists what the caller's groups hold or wait for, in
// order, each queued run's place in its pool counting runs of groups the
// caller does not see, its reason, and whether the caller may start it
// anyway (its owner); another group's queue is missing. The pools' usage
// history records the levels as they change.
func TestQueueAndPoolHistory(t *testing.T) {
	k := newKubeline(t, true, []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 2}})
	makeGroups(t, k, "a", "b")
	op := k.user(t, "op", []string{"operator"}, []string{"a"})
	alice := k.user(t, "alice", []string{"data-scientist"}, []string{"a"})
	bob := k.user(t, "bob", []string{"data-scientist"}, []string{"a"})
	carol := k.user(t, "carol", []string{"data-scientist"}, []string{"b"})
	create := func(token, name string, gpus int, sleep string) string {
		r := do(t, "POST", k.kfp()+"/runs", token, map[string]any{"display_name": name, "pipeline_spec": gpuSpec(t, gpus, sleep)})
		if r.code != 200 {
			t.Fatalf("create %s: %d %s", name, r.code, r.raw)
		}
		return r.body["run_id"].(string)
	}
	holder := create(alice, "holder", 2, "30")
	waitStatus(t, k, alice, holder, "Running")
	second := create(alice, "second", 2, "0.1")
	carols := create(carol, "carols", 1, "0.1")
	bobs := create(bob, "bobs", 1, "0.1")

	type entry struct {
		Name, Status, Owner, Pool string
		Position                  float64
		CanStart, HasReason       bool
	}
	queue := func(token, query string) []entry {
		t.Helper()
		r := do(t, "GET", k.kl()+"/queue"+query, token, nil)
		if r.code != 200 {
			t.Fatalf("queue%s: %d %s", query, r.code, r.raw)
		}
		var out []entry
		for _, e := range r.body["entries"].([]any) {
			m := e.(map[string]any)
			pos, _ := m["position"].(float64)
			can, _ := m["can_start_anyway"].(bool)
			reason, _ := m["reason"].(string)
			out = append(out, entry{m["display_name"].(string), m["status"].(string), m["owner"].(string), m["pool"].(string), pos, can, reason != ""})
		}
		return out
	}
	run := func(name, status, owner string, pos float64, can bool) entry {
		return entry{name, status, owner, "default", pos, can, status == "Queued"}
	}
	if d := cmp.Diff([]entry{run("holder", "Running", "alice", 0, false), run("second", "Queued", "alice", 1, true), run("bobs", "Queued", "bob", 3, false)},
		queue(alice, "")); d != "" {
		t.Errorf("alice's queue (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]entry{run("carols", "Queued", "carol", 2, true)}, queue(carol, "")); d != "" {
		t.Errorf("carol's queue (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]entry{run("holder", "Running", "alice", 0, false), run("second", "Queued", "alice", 1, true), run("carols", "Queued", "carol", 2, true),
		run("bobs", "Queued", "bob", 3, true)}, queue(op, "")); d != "" {
		t.Errorf("the operator's queue (-want +got):\n%s", d)
	}
	if got := queue(op, "?group=b"); len(got) != 1 || got[0].Name != "carols" {
		t.Errorf("the operator's queue of group b: %v", got)
	}
	if r := do(t, "GET", k.kl()+"/queue?group=b", alice, nil); r.code != 404 {
		t.Errorf("alice asks for group b's queue: %d %s", r.code, r.raw)
	}
	if r := do(t, "GET", k.kl()+"/queue", "", nil); r.code != 401 {
		t.Errorf("no token: %d %s", r.code, r.raw)
	}
	// The holder ends: the others start in turn and the queue empties.
	if r := do(t, "POST", k.kfp()+"/runs/"+holder+":terminate", alice, nil); r.code != 200 {
		t.Fatalf("terminate: %d %s", r.code, r.raw)
	}
	for _, id := range []string{second, carols, bobs} {
		waitStatus(t, k, op, id, "Complete")
	}
	if got := queue(op, ""); len(got) != 0 {
		t.Errorf("queue after every run ended: %v", got)
	}

	// History: the levels the pool went through, oldest first, ending empty.
	r := do(t, "GET", k.kl()+"/pools?history_seconds=600", alice, nil)
	if r.code != 200 {
		t.Fatalf("pools with history: %d %s", r.code, r.raw)
	}
	pool := r.body["pools"].([]any)[0].(map[string]any)
	var levels []string
	var maxUsed, maxQueued float64
	for _, s := range pool["history"].([]any) {
		m := s.(map[string]any)
		if m["total_gpus"] != 2.0 {
			t.Errorf("a sample of %v GPUs in all: %v", m["total_gpus"], m)
		}
		maxUsed, maxQueued = max(maxUsed, m["used_gpus"].(float64)), max(maxQueued, m["queued_runs"].(float64))
		levels = append(levels, m["at"].(string))
	}
	last := pool["history"].([]any)[len(levels)-1].(map[string]any)
	if maxUsed != 2 || maxQueued != 3 || last["used_gpus"] != 0.0 || last["queued_runs"] != 0.0 || len(levels) < 4 {
		t.Errorf("history: most used %v (want 2), most queued %v (want 3), last %v (want empty), %d samples: %v", maxUsed, maxQueued, last, len(levels), pool["history"])
	}
	for i := 1; i < len(levels); i++ {
		if levels[i] < levels[i-1] {
			t.Errorf("samples out of order: %v", levels)
		}
	}
	for _, bad := range []string{"0", "-1", "x", "999999999"} {
		if r := do(t, "GET", k.kl()+"/pools?history_seconds="+bad, alice, nil); r.code != 400 || !strings.Contains(r.raw, "history_seconds") {
			t.Errorf("history_seconds=%s: %d %s", bad, r.code, r.raw)
		}
	}
	if r := do(t, "GET", k.kl()+"/pools", alice, nil); r.body["pools"].([]any)[0].(map[string]any)["history"] != nil {
		t.Errorf("history without asking: %s", r.raw)
	}
}

// experimentSpec is examples/hpo's experiment with its pipeline inline, n
// trials of which par run at once, each sleeping pause seconds an epoch.
func experimentSpec(t testing.TB, n, par int, pause string) map[string]any {
	t.Helper()
	pipeline, err := os.ReadFile("../../examples/hpo/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := yaml12(pipeline, &p); err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if err := yaml12([]byte(`apiVersion: kubeline.io/v1alpha1
kind: Experiment
metadata: {name: quadratic}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm:
    algorithmName: random
    algorithmSettings: [{name: random_state, value: "3"}]
  parallelTrialCount: `+strconv.Itoa(par)+`
  maxTrialCount: `+strconv.Itoa(n)+`
  maxFailedTrialCount: 3
  parameters:
  - {name: x, parameterType: double, feasibleSpace: {min: "-5", max: "10"}}
  - {name: "y", parameterType: double, feasibleSpace: {min: "-5", max: "5"}}
  trialTemplate:
    trialParameters: [{name: x, reference: x}, {name: "y", reference: "y"}]
    parameters: {x: "${trialParameters.x}", "y": "${trialParameters.y}", epochs: "2", pause: "`+pause+`"}
`), &e); err != nil {
		t.Fatal(err)
	}
	e["spec"].(map[string]any)["trialTemplate"].(map[string]any)["pipelineSpec"] = p
	return e
}

// TestHPOExperimentsAPI: an HPO experiment submitted as a run on a
// multi-user server (its rounds call themselves: admission takes one
// round's peak) is listed among its group's experiments with its trials,
// their values and the best so far after each, and its plot; another
// group's member finds none of it, and a plain run is no experiment.
func TestHPOExperimentsAPI(t *testing.T) {
	k := newKubeline(t, true, nil)
	makeGroups(t, k, "a", "b")
	alice := k.user(t, "alice", []string{"data-scientist"}, []string{"a"})
	carol := k.user(t, "carol", []string{"data-scientist"}, []string{"b"})
	r := do(t, "POST", k.kfp()+"/runs", alice, map[string]any{"display_name": "tune", "pipeline_spec": experimentSpec(t, 4, 2, "0")})
	if r.code != 200 {
		t.Fatalf("create the experiment run: %d %s", r.code, r.raw)
	}
	id := r.body["run_id"].(string)
	plain := do(t, "POST", k.kfp()+"/runs", alice, map[string]any{"display_name": "plain", "pipeline_spec": gpuSpec(t, 0, "0")}).body["run_id"].(string)
	waitStatus(t, k, alice, id, "Complete")

	list := do(t, "GET", k.kl()+"/hpo/experiments", alice, nil)
	if es := list.body["experiments"].([]any); len(es) != 1 || es[0].(map[string]any)["run_id"] != id || es[0].(map[string]any)["name"] != "quadratic" ||
		es[0].(map[string]any)["group"] != "a" || es[0].(map[string]any)["state"] != "SUCCEEDED" {
		t.Fatalf("alice's experiments: %s", list.raw)
	}
	if es := do(t, "GET", k.kl()+"/hpo/experiments", carol, nil).body["experiments"].([]any); len(es) != 0 {
		t.Errorf("carol sees group a's experiments: %v", es)
	}
	got := do(t, "GET", k.kl()+"/hpo/experiments/"+id, alice, nil)
	if got.code != 200 {
		t.Fatalf("get: %d %s", got.code, got.raw)
	}
	trials, best := got.body["trials"].([]any), got.body["best_so_far"].([]any)
	if len(trials) != 4 || len(best) != 4 || got.body["objective"] != "loss" || got.body["direction"] != "minimize" {
		t.Fatalf("experiment: %s", got.raw)
	}
	low := 1e18
	for i, tr := range trials {
		m := tr.(map[string]any)
		v, ok := m["value"].(float64)
		params := m["params"].(map[string]any)
		if m["state"] != "Succeeded" || !ok || params["x"] == nil {
			t.Fatalf("trial %d: %v", i, m)
		}
		low = min(low, v)
		if best[i] != low {
			t.Errorf("best so far after trial %d: %v, want %v", i, best[i], low)
		}
	}
	svg := do(t, "GET", k.kl()+"/hpo/experiments/"+id+"?format=svg", alice, nil)
	if svg.code != 200 || !strings.HasPrefix(svg.raw, "<svg") {
		t.Errorf("plot: %d %.200s", svg.code, svg.raw)
	}
	for _, c := range []struct {
		token, path string
		code        int
	}{
		{carol, "/hpo/experiments/" + id, 404},
		{carol, "/hpo/experiments/" + id + "?format=svg", 404},
		{alice, "/hpo/experiments/" + plain, 400},
		{alice, "/hpo/experiments/nope", 404},
		{alice, "/hpo/experiments/" + id + "?format=png", 400},
		{carol, "/hpo/experiments?group=a", 404},
		{alice, "/hpo/experiments?page_size=0", 400},
	} {
		if r := do(t, "GET", k.kl()+c.path, c.token, nil); r.code != c.code {
			t.Errorf("GET %s: %d %s, want %d", c.path, r.code, r.raw, c.code)
		}
	}
}

// TestProjectVersions: a project's home lists the versions its runs made,
// newest first; another group's member finds no project.
func TestProjectVersions(t *testing.T) {
	k := newKubeline(t, true, nil)
	makeGroups(t, k, "a", "b")
	alice := k.user(t, "alice", []string{"data-scientist"}, []string{"a"})
	carol := k.user(t, "carol", []string{"data-scientist"}, []string{"b"})
	p := do(t, "POST", k.kl()+"/projects", alice, map[string]any{"name": "churn", "group": "a", "metric": "accuracy"})
	if p.code != 200 {
		t.Fatalf("project: %d %s", p.code, p.raw)
	}
	if r := uploadVersionAs(t, k, "dataset", "d", "1\n2\n3\n", alice); r.code != 200 {
		t.Fatalf("upload d: %d %s", r.code, r.raw)
	}
	spec := trainSpec(t)
	var ids []string
	for _, lr := range []string{"0.1", "0.2"} {
		r := do(t, "POST", k.kfp()+"/runs", alice, map[string]any{"display_name": "train " + lr, "experiment_id": p.body["experiment_id"],
			"pipeline_spec": spec, "runtime_config": map[string]any{"parameters": map[string]any{"lr": lr, "data": "dataset://d@v1"}}})
		if r.code != 200 {
			t.Fatalf("run: %d %s", r.code, r.raw)
		}
		ids = append(ids, r.body["run_id"].(string))
		waitStatus(t, k, alice, ids[len(ids)-1], "Complete")
	}
	// A run outside the project makes m@v3: not the project's.
	r := do(t, "POST", k.kfp()+"/runs", alice, map[string]any{"display_name": "outside", "pipeline_spec": spec,
		"runtime_config": map[string]any{"parameters": map[string]any{"lr": "0.3", "data": "dataset://d@v1"}}})
	waitStatus(t, k, alice, r.body["run_id"].(string), "Complete")
	got := do(t, "GET", k.kl()+"/projects/churn/versions", alice, nil)
	if got.code != 200 {
		t.Fatalf("versions: %d %s", got.code, got.raw)
	}
	var refs []string
	for _, v := range got.body["versions"].([]any) {
		m := v.(map[string]any)
		refs = append(refs, m["ref"].(string)+" by "+m["run_id"].(string))
	}
	if d := cmp.Diff([]string{"model://m@v2 by " + ids[1], "model://m@v1 by " + ids[0]}, refs); d != "" {
		t.Errorf("project versions (-want +got):\n%s", d)
	}
	if r := do(t, "GET", k.kl()+"/projects/churn/versions?page_size=1", alice, nil); len(r.body["versions"].([]any)) != 1 {
		t.Errorf("page_size=1: %s", r.raw)
	}
	if r := do(t, "GET", k.kl()+"/projects/churn/versions", carol, nil); r.code != 404 {
		t.Errorf("carol: %d %s", r.code, r.raw)
	}
	if r := do(t, "GET", k.kl()+"/projects/churn/versions?page_size=1000", alice, nil); r.code != 400 {
		t.Errorf("page_size=1000: %d %s", r.code, r.raw)
	}
}

// yaml12 decodes YAML 1.2 (a parameter named y stays a string) into out
// through JSON.
func yaml12(data []byte, out any) error {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// makeGroups makes groups in the store, on the default pool.
func makeGroups(t testing.TB, k *kserver, names ...string) {
	t.Helper()
	for _, g := range names {
		if err := k.st.CreateGroup(context.Background(), &store.Group{Name: g, Pool: "default"}); err != nil {
			t.Fatal(err)
		}
	}
}

// trainSpec is examples/train-model's pipeline as JSON.
func trainSpec(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := yamlToJSON(b, &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}
