package apiserver_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/kserve"
	"github.com/kubeline/kubeline/runtime/store"
)

// TestHostileMonitors: monitors belong to their deployment's group. Group
// b does not see a's monitor (every route answers as for a missing one),
// cannot watch a's deployment, and when a's deployment has stopped and b
// deploys one of the same name, a's monitor records and evaluates none of
// b's traffic. A Production Engineer alone may not set a retraining
// action (it runs a pipeline and publishes).
func TestHostileMonitors(t *testing.T) {
	h := newHostile(t, serverOptions{})
	h.work(t)
	kl := h.k.kl()
	watch := func(name, dep string) map[string]any {
		d := monitorDoc(name, dep, "d")
		d["spec"].(map[string]any)["window"] = map[string]any{"requests": 1}
		return d
	}
	if r := h.as("a-pe", "POST", kl+"/monitors", watch("a-watch", h.deploy)); r.code != 200 {
		t.Fatalf("a's monitor: %d %s", r.code, r.raw)
	}
	before := h.snapshot(t)

	t.Run("another group's monitor does not exist", func(t *testing.T) {
		for _, sub := range []string{"", "/status", "/alerts", "/drilldown"} {
			got := h.as("b-pe", "GET", kl+"/monitors/a-watch"+sub, nil)
			missing := h.as("b-pe", "GET", kl+"/monitors/no-such"+sub, nil)
			hiddenLike(t, "GET monitors/a-watch"+sub, got, missing, "a-watch", "no-such")
		}
		got := h.as("b-pe", "DELETE", kl+"/monitors/a-watch", nil)
		hiddenLike(t, "DELETE", got, h.as("b-pe", "DELETE", kl+"/monitors/no-such", nil), "a-watch", "no-such")
		if l := h.as("b-pe", "GET", kl+"/monitors", nil); l.code != 200 || l.body["total_size"] != 0.0 {
			t.Errorf("b lists %d %s", l.code, l.raw)
		}
		if r := h.as("a-pe", "GET", kl+"/monitors/a-watch", nil); r.code != 200 {
			t.Errorf("a's monitor is gone: %d %s", r.code, r.raw)
		}
		h.unchanged(t, before)
	})

	t.Run("cannot watch another group's deployment", func(t *testing.T) {
		got := h.as("b-pe", "POST", kl+"/monitors", watch("b-watch", h.deploy))
		missing := h.as("b-pe", "POST", kl+"/monitors", watch("b-watch", "no-such"))
		if got.code != 400 || strings.ReplaceAll(got.raw, h.deploy, "no-such") != missing.raw {
			t.Errorf("b watches a's deployment: %d %s (missing: %s)", got.code, got.raw, missing.raw)
		}
		if l := h.as("op", "GET", kl+"/monitors", nil); l.body["total_size"] != 1.0 {
			t.Errorf("monitors now: %s", l.raw)
		}
	})

	t.Run("retraining needs develop and publish", func(t *testing.T) {
		d := watch("a-retrain", h.deploy)
		d["spec"].(map[string]any)["action"] = map[string]any{"retrain": map[string]any{"pipeline": "train",
			"metric": map[string]any{"name": "accuracy", "min": 0.5}, "canaryPercent": 10}}
		if r := h.as("a-pe", "POST", kl+"/monitors", d); r.code != 403 || !strings.Contains(r.raw, "develop and publish") {
			t.Errorf("a Production Engineer set a retraining action: %d %s", r.code, r.raw)
		}
		if r := h.as("op", "POST", kl+"/monitors", d); r.code != 200 {
			t.Errorf("an operator may: %d %s", r.code, r.raw)
		}
		h.as("op", "DELETE", kl+"/monitors/a-retrain", nil)
	})

	// Last: it stops a's deployment.
	t.Run("a name taken over by another group feeds no monitor of a's", func(t *testing.T) {
		if r := h.as("a-pe", "POST", kl+"/deployments/"+h.deploy+":stop", nil); r.code != 200 {
			t.Fatalf("stop: %d %s", r.code, r.raw)
		}
		if r := uploadVersionAs(t, h.k, "model", "bm", "weights 3\n", h.tok["b-ml"]); r.code != 200 {
			t.Fatalf("b's model: %d %s", r.code, r.raw)
		}
		if r := h.as("b-ml", "POST", kl+"/models/bm/versions/v1:publish", nil); r.code != 200 {
			t.Fatalf("publish: %d %s", r.code, r.raw)
		}
		predictor, _ := filepath.Abs("../../examples/serve-model/predictor.py")
		doc := fmt.Sprintf("kind: Deployment\napiVersion: kubeline.io/v1alpha1\nmetadata: {name: %s}\nspec:\n  model: bm@v1\n"+
			"  predictor: {image: python, command: [python3, %s]}\n", h.deploy, predictor)
		if r := postYAML(t, kl+"/deployments", h.tok["b-pe"], doc); r.code != 200 {
			t.Fatalf("b deploys the name: %d %s", r.code, r.raw)
		}
		if r := h.as("b-pe", "POST", kl+"/monitors", watch("b-watch", h.deploy)); r.code != 200 {
			t.Fatalf("b's monitor of its deployment: %d %s", r.code, r.raw)
		}
		for i := 0; i < 3; i++ {
			if r := h.as("b-pe", "POST", h.k.root+"/v1/models/"+h.deploy+":predict", map[string]any{"instances": []any{1.5}}); r.code != 200 {
				t.Fatalf("b predicts: %d %s", r.code, r.raw)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for { // b's monitor evaluates b's traffic: 3 windows of one request
			st := h.as("b-pe", "GET", kl+"/monitors/b-watch/status", nil)
			if st.body["windows"] == 3.0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("b's monitor: %s", st.raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
		st := h.as("a-pe", "GET", kl+"/monitors/a-watch/status", nil)
		if st.code != 200 || st.body["windows"] != 0.0 || st.body["deployment_state"] == nil || strings.Contains(st.raw, "bm@v1") {
			t.Errorf("a's monitor after b's traffic: %d %s", st.code, st.raw)
		}
		if r := h.as("a-pe", "GET", kl+"/monitors/a-watch/drilldown", nil); strings.Contains(r.raw, "bm@v1") {
			t.Errorf("a's drilldown shows b's model: %s", r.raw)
		}
	})
}

// fakeISVCs stands in for the clusters' API servers in the isolation test
// below (the real path is TestDeployAndImportAcrossClusters, make e2e): it
// counts what reaches it.
type fakeISVCs struct{ calls atomic.Int64 }

func (f *fakeISVCs) Apply(context.Context, store.Cluster, map[string]any) (kserve.Status, error) {
	f.calls.Add(1)
	return kserve.Status{Namespace: "ns", Name: "x"}, nil
}

func (f *fakeISVCs) Get(context.Context, store.Cluster, string, string) (kserve.Status, error) {
	f.calls.Add(1)
	return kserve.Status{Namespace: "ns", Name: "x"}, nil
}

func (f *fakeISVCs) Delete(context.Context, store.Cluster, string, string) error {
	f.calls.Add(1)
	return nil
}

// TestHostileClusterDeployments: group b can neither deploy to nor import
// from group a's registered cluster — the answer is a missing cluster's —
// and nothing reaches the cluster.
func TestHostileClusterDeployments(t *testing.T) {
	fake := &fakeISVCs{}
	h := newHostile(t, serverOptions{with: func(api *apiserver.Server, _ context.Context) { api.WithInferenceServices(fake) }})
	ctx := context.Background()
	if err := h.k.st.AddCluster(ctx, &store.Cluster{Name: "a-cluster", Group: "a", Owner: "a-pe"}); err != nil {
		t.Fatal(err)
	}
	if r := uploadVersionAs(t, h.k, "model", "bm", "weights 3\n", h.tok["b-ml"]); r.code != 200 {
		t.Fatalf("b's model: %d %s", r.code, r.raw)
	}
	h.as("b-ml", "POST", h.k.kl()+"/models/bm/versions/v1:publish", nil)
	doc := "apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: b-remote}\nspec: {model: bm@v1, target: kserve, predictor: {image: x}}\n"
	got := postYAML(t, h.k.kl()+"/deployments?cluster=a-cluster", h.tok["b-pe"], doc)
	missing := postYAML(t, h.k.kl()+"/deployments?cluster=no-such", h.tok["b-pe"], doc)
	hiddenLike(t, "deploy to a's cluster", got, missing, "a-cluster", "no-such")
	imp := func(cluster string) resp {
		return h.as("b-pe", "POST", h.k.kl()+"/deployments:import", map[string]any{"name": "b-imp", "cluster": cluster, "inference_service": "x"})
	}
	hiddenLike(t, "import from a's cluster", imp("a-cluster"), imp("no-such"), "a-cluster", "no-such")
	if got.code != 400 || fake.calls.Load() != 0 {
		t.Errorf("b reached a's cluster: %d %s, %d calls", got.code, got.raw, fake.calls.Load())
	}
	if r := h.as("a-pe", "POST", h.k.kl()+"/deployments:import", map[string]any{"name": "a-imp", "cluster": "a-cluster", "inference_service": "x"}); r.code != 200 || fake.calls.Load() != 1 {
		t.Errorf("a imports from its own cluster: %d %s", r.code, r.raw)
	}
}
