package apiserver_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// TestGroupsPoolsProjects: an operator splits the cluster into pools, gives
// a group a pool and adds users; their runs use the group's pool; the
// project's leaderboard ranks each user's best run; compare puts runs side
// by side; bad input is a 4xx naming the field.
func TestGroupsPoolsProjects(t *testing.T) {
	k := newKubeline(t, true, []admission.ClusterNode{{Name: "n1", GPUType: "a100", GPUs: 4}, {Name: "n2", GPUType: "t4", GPUs: 2}})
	op := k.user(t, "root", []string{"operator"}, nil)
	if h := do(t, "GET", k.kfp()+"/healthz", "", nil); h.body["multi_user"] != true {
		t.Fatalf("healthz %s", h.raw)
	}
	if r := do(t, "GET", k.kfp()+"/runs", "", nil); r.code != 401 {
		t.Fatalf("runs without a token: %d", r.code)
	}
	if r := do(t, "GET", k.kfp()+"/runs", "not-a-token", nil); r.code != 401 || !strings.Contains(r.raw, "not valid") {
		t.Fatalf("an unknown token: %d %s", r.code, r.raw)
	}
	bad := []struct {
		method, path string
		body         any
		code         int
		msg          string
	}{
		{"POST", "/pools", map[string]any{"name": "x", "nodes": []any{map[string]any{"name": "zz", "gpus": 1}}}, 400, `pool.nodes[0].name: the cluster has no node "zz"`},
		{"POST", "/pools", map[string]any{"name": "x", "nodes": []any{map[string]any{"name": "n1", "gpus": 5}}}, 400, `pools: node "n1" has 4 GPUs, the pools are given 5`},
		{"POST", "/pools", map[string]any{"name": "x", "nodes": []any{map[string]any{"name": "n1", "gpus": 1}, map[string]any{"name": "n2", "gpus": 1}}}, 400, "pool.nodes: the nodes hold GPUs of different types"},
		{"POST", "/pools", map[string]any{"name": "x", "gpu_type": "a100", "nodes": []any{map[string]any{"name": "n2", "gpus": 1}}}, 400, `pool.nodes[0].name: node "n2" has t4 GPUs, the pool holds a100`},
		{"POST", "/pools", map[string]any{"name": "default", "nodes": []any{map[string]any{"name": "n1", "gpus": 1}}}, 400, `pool.name: "default" is the default pool`},
		{"POST", "/pools", map[string]any{"name": "x", "colour": "red"}, 400, `unknown field "colour"`},
		{"DELETE", "/pools/default", nil, 400, "cannot be deleted"},
		{"POST", "/groups", map[string]any{"name": "g", "pool": "nope"}, 400, `group.pool: there is no pool "nope"`},
		{"POST", "/groups", map[string]any{"name": "a b"}, 400, "group.name"},
		{"DELETE", "/groups/default", nil, 400, "default group"},
		{"POST", "/users", map[string]any{"name": "u", "roles": []string{"wizard"}}, 400, `user.roles[0]: unknown role "wizard"`},
		{"POST", "/users", map[string]any{"name": "u"}, 400, "user.roles: give at least one role"},
		{"POST", "/users", map[string]any{"name": "u", "roles": []string{"ds"}, "groups": []string{"nope"}}, 400, `user.groups: group "nope": not found`},
		{"POST", "/projects", map[string]any{"name": "p", "metric": "acc", "direction": "up"}, 400, `project.direction: "up"`},
		{"POST", "/projects", map[string]any{"name": "p"}, 400, "project.metric is required"},
		{"GET", "/compare", nil, 400, "run_id"},
		{"GET", "/compare?run_id=nope", nil, 404, "run nope"},
		{"POST", "/users/nobody/tokens", nil, 404, `user "nobody"`},
		{"PATCH", "/users/root", map[string]any{"name": "other"}, 400, "user.name: a user cannot be renamed"},
		{"PATCH", "/users/root", map[string]any{"roles": []string{}}, 400, "user.roles: a user keeps at least one role"},
		{"PATCH", "/groups/nope", map[string]any{"pool": "default"}, 404, `group "nope"`},
		{"PATCH", "/groups/default", map[string]any{}, 400, "group.pool is required"},
		{"PATCH", "/pools/nope", map[string]any{"nodes": []any{map[string]any{"name": "n1", "gpus": 1}}}, 404, `pool "nope"`},
		{"PATCH", "/pools/default", map[string]any{}, 400, "change the other pools instead"},
		{"GET", "/projects/nope/leaderboard", nil, 404, `project "nope"`},
		{"POST", "/projects/nope:archive", nil, 404, `project "nope"`},
		{"POST", "/runs/nope:start_anyway", nil, 404, "run nope"},
		{"GET", "/users?page_size=-1", nil, 400, "page_size"},
		{"GET", "/groups?sort_by=colour", nil, 400, "sort_by"},
	}
	for _, b := range bad {
		r := do(t, b.method, k.kl()+b.path, op, b.body)
		if msg, _ := r.body["message"].(string); r.code != b.code || !strings.Contains(msg, b.msg) {
			t.Errorf("%s %s: %d %s, want %d with %q", b.method, b.path, r.code, r.raw, b.code, b.msg)
		}
	}
	if r := do(t, "POST", k.kl()+"/pools", op, map[string]any{"name": "fast", "nodes": []any{map[string]any{"name": "n1", "gpus": 4}}}); r.code != 200 || r.body["gpu_type"] != "a100" {
		t.Fatalf("create pool: %d %s", r.code, r.raw)
	}
	pools := do(t, "GET", k.kl()+"/pools", op, nil).body
	var names []string
	var total float64
	for _, p := range pools["pools"].([]any) {
		pm := p.(map[string]any)
		names = append(names, pm["name"].(string))
		total += pm["total_gpus"].(float64)
	}
	if diff := cmp.Diff([]string{"default", "fast"}, names); diff != "" || total != pools["cluster_gpus"] || total != 6 {
		t.Fatalf("pools (-want +got)\n%s\ntotal %v of %v", diff, total, pools["cluster_gpus"])
	}
	if r := do(t, "POST", k.kl()+"/groups", op, map[string]any{"name": "vision", "pool": "fast"}); r.code != 200 {
		t.Fatalf("create group: %d %s", r.code, r.raw)
	}
	tokens := map[string]string{}
	for _, u := range []string{"ann", "bob"} {
		if r := do(t, "POST", k.kl()+"/users", op, map[string]any{"name": u, "roles": []string{"ds"}, "groups": []string{"vision"}}); r.code != 200 {
			t.Fatalf("create user: %d %s", r.code, r.raw)
		}
		r := do(t, "POST", k.kl()+"/users/"+u+"/tokens", op, nil)
		if r.code != 200 {
			t.Fatalf("token: %d %s", r.code, r.raw)
		}
		tokens[u] = r.body["token"].(string)
	}
	if r := do(t, "GET", k.kl()+"/whoami", tokens["ann"], nil); r.body["name"] != "ann" || cmp.Diff([]any{"data-scientist"}, r.body["roles"]) != "" {
		t.Fatalf("whoami %s", r.raw)
	}
	if r := do(t, "DELETE", k.kl()+"/pools/fast", op, nil); r.code != 409 || !strings.Contains(r.raw, "vision") {
		t.Fatalf("delete a pool a group uses: %d %s", r.code, r.raw)
	}
	proj := do(t, "POST", k.kl()+"/projects", tokens["ann"], map[string]any{"name": "mnist", "group": "vision", "metric": "accuracy", "direction": "maximize"})
	if proj.code != 200 || proj.body["owner"] != "ann" {
		t.Fatalf("create project: %d %s", proj.code, proj.raw)
	}
	exp := proj.body["experiment_id"].(string)
	if e := do(t, "GET", k.kfp()+"/experiments/"+exp, tokens["bob"], nil); e.code != 200 || e.body["display_name"] != "mnist" || e.body["namespace"] != "vision" {
		t.Fatalf("the project as a KFP experiment: %d %s", e.code, e.raw)
	}
	// Runs of the group use its pool; their metrics arrive as the versions
	// recorder stores them when a run ends (runtime/versioning Record).
	acc := map[string]float64{}
	var runs []string
	for i, rr := range []struct {
		user string
		acc  float64
	}{{"ann", 0.7}, {"ann", 0.9}, {"bob", 0.8}} {
		r := do(t, "POST", k.kfp()+"/runs", tokens[rr.user], map[string]any{"display_name": rr.user, "experiment_id": exp, "pipeline_spec": gpuSpec(t, 4, "0")})
		if r.code != 200 {
			t.Fatalf("run %d: %d %s", i, r.code, r.raw)
		}
		id := r.body["run_id"].(string)
		got := waitStatus(t, k, tokens[rr.user], id, "Complete")
		if got["pool"] != "fast" || got["group"] != "vision" || got["owner"] != rr.user {
			t.Fatalf("run %d: %v", i, got)
		}
		if err := k.st.AddMetrics(context.Background(), []store.Metric{{RunID: id, Task: "train", Artifact: "metrics", Name: "accuracy", Value: rr.acc}}); err != nil {
			t.Fatal(err)
		}
		acc[id] = rr.acc
		runs = append(runs, id)
	}
	// Lists show a caller their groups' resources only; operators see all.
	eve := k.user(t, "eve", []string{"data-scientist"}, nil)
	for _, l := range []struct {
		who, token, path string
		want             float64
	}{
		{"eve", eve, k.kfp() + "/runs", 0}, {"ann", tokens["ann"], k.kfp() + "/runs", 3}, {"root", op, k.kfp() + "/runs", 3},
		{"eve", eve, k.kfp() + "/experiments", 0}, {"bob", tokens["bob"], k.kfp() + "/experiments", 1},
		{"eve", eve, k.kl() + "/projects", 0}, {"bob", tokens["bob"], k.kl() + "/projects", 1},
	} {
		if r := do(t, "GET", l.path, l.token, nil); r.code != 200 || r.body["total_size"] != l.want {
			t.Errorf("%s lists %s: %d %v, want %v", l.who, l.path, r.code, r.body["total_size"], l.want)
		}
	}
	if r := do(t, "GET", k.kfp()+"/runs/"+runs[0], eve, nil); r.code != 404 {
		t.Fatalf("a run of another group: %d %s", r.code, r.raw)
	}
	board := do(t, "GET", k.kl()+"/projects/mnist/leaderboard", tokens["bob"], nil).body
	var got []string
	for _, e := range board["entries"].([]any) {
		em := e.(map[string]any)
		got = append(got, em["owner"].(string)+"="+em["run_id"].(string))
	}
	if diff := cmp.Diff([]string{"ann=" + runs[1], "bob=" + runs[2]}, got); diff != "" {
		t.Fatalf("leaderboard (-want +got)\n%s", diff)
	}
	cmpr := do(t, "GET", k.kl()+"/compare?run_id="+runs[0]+","+runs[2], tokens["bob"], nil)
	if cmpr.code != 200 || cmp.Diff([]any{"accuracy"}, cmpr.body["metrics"]) != "" {
		t.Fatalf("compare: %d %s", cmpr.code, cmpr.raw)
	}
	for i, r := range cmpr.body["runs"].([]any) {
		rm := r.(map[string]any)
		if rm["metrics"].(map[string]any)["accuracy"] != acc[rm["run_id"].(string)] || rm["run_id"] != []string{runs[0], runs[2]}[i] {
			t.Fatalf("compare row %d: %v", i, rm)
		}
	}
	// Model versions compare by the runs that produced them; the catalog is
	// not for Data Scientists.
	mv := &store.ArtifactVersion{Kind: "model", Name: "digits", Digest: "sha-1", Key: "k", URI: "s3://b/k", RunID: runs[1]}
	if _, err := k.st.CreateArtifactVersion(context.Background(), mv); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", k.kl()+"/compare?model=digits@v1", tokens["bob"], nil); r.code != 403 || !strings.Contains(r.raw, "model catalog") {
		t.Fatalf("a Data Scientist compares model versions: %d %s", r.code, r.raw)
	}
	mc := do(t, "GET", k.kl()+"/compare?model=digits@v1&run_id="+runs[2], op, nil)
	if rows, _ := mc.body["runs"].([]any); mc.code != 200 || len(rows) != 2 || rows[1].(map[string]any)["model_version"] != "digits@v1" ||
		rows[1].(map[string]any)["metrics"].(map[string]any)["accuracy"] != 0.9 {
		t.Fatalf("compare a model version: %d %s", mc.code, mc.raw)
	}
	for _, q := range []string{"model=digits", "model=digits@v0", "model=digits@v7"} {
		if r := do(t, "GET", k.kl()+"/compare?"+q, op, nil); r.code != 400 && r.code != 404 {
			t.Fatalf("compare %s: %d %s", q, r.code, r.raw)
		}
	}
	// Only the owner archives; archived projects restore.
	if r := do(t, "POST", k.kl()+"/projects/mnist:archive", tokens["bob"], nil); r.code != 403 {
		t.Fatalf("archive by another member: %d %s", r.code, r.raw)
	}
	for _, a := range []string{"archive", "unarchive"} {
		if r := do(t, "POST", k.kl()+"/projects/mnist:"+a, tokens["ann"], nil); r.code != 200 {
			t.Fatalf("%s: %d %s", a, r.code, r.raw)
		}
	}
	if r := do(t, "GET", k.kl()+"/projects/mnist", tokens["ann"], nil); r.body["storage_state"] != "AVAILABLE" {
		t.Fatalf("restored project: %s", r.raw)
	}
	// Single-user servers refuse users; multi-user ones list them.
	single := newKubeline(t, false, nil)
	if r := do(t, "POST", single.kl()+"/users", "", map[string]any{"name": "x", "roles": []string{"ds"}}); r.code != 409 || !strings.Contains(r.raw, "--multi-user") {
		t.Fatalf("user on a single-user server: %d %s", r.code, r.raw)
	}
	if h := do(t, "GET", single.kfp()+"/healthz", "", nil); h.body["multi_user"] != false {
		t.Fatalf("single-user healthz %s", h.raw)
	}
}

// TestRecurringRunKeepsGroupAndOwner: the runs a recurring run fires belong
// to its group and owner, so they use the group's pool and the owner
// manages them.
func TestRecurringRunKeepsGroupAndOwner(t *testing.T) {
	k := newKubeline(t, true, []admission.ClusterNode{{Name: "n1", GPUType: "a100", GPUs: 2}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go k.api.Schedule(ctx, 50*time.Millisecond)
	op := k.user(t, "root", []string{"operator"}, nil)
	for _, r := range []struct {
		path string
		body any
	}{
		{"/pools", map[string]any{"name": "fast", "nodes": []any{map[string]any{"name": "n1", "gpus": 2}}}},
		{"/groups", map[string]any{"name": "vision", "pool": "fast"}},
	} {
		if got := do(t, "POST", k.kl()+r.path, op, r.body); got.code != 200 {
			t.Fatalf("%s: %d %s", r.path, got.code, got.raw)
		}
	}
	ann := k.user(t, "ann", []string{"data-scientist"}, []string{"vision"})
	rr := do(t, "POST", k.kfp()+"/recurringruns", ann, map[string]any{"display_name": "nightly", "pipeline_spec": gpuSpec(t, 2, "0"),
		"mode": "ENABLE", "no_catchup": true, "trigger": map[string]any{"periodic_schedule": map[string]any{"interval_second": "1"}}})
	if rr.code != 200 || rr.body["namespace"] != "vision" {
		t.Fatalf("recurring run: %d %s", rr.code, rr.raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		runs := do(t, "GET", k.kfp()+"/runs?filter="+url.QueryEscape(`{"predicates":[{"key":"recurring_run_id","operation":"EQUALS","string_value":"`+rr.body["recurring_run_id"].(string)+`"}]}`), ann, nil)
		if list, _ := runs.body["runs"].([]any); len(list) > 0 {
			id := list[0].(map[string]any)["run_id"].(string)
			got := waitStatus(t, k, ann, id, "Complete")
			if got["group"] != "vision" || got["owner"] != "ann" || got["pool"] != "fast" {
				t.Fatalf("fired run: %v", got)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the recurring run fired no run")
}
