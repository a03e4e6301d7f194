//go:build e2e

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/engine/argo"
)

// TestServerOnArgo: `kubeline server --engine argo` against the e2e
// cluster (a real kube-apiserver and Argo controller; kwok fakes the pods).
// A run goes PENDING -> RUNNING -> SUCCEEDED through admission and is
// listed by the KFP API; a run whose pod holds (kwok label) is stopped
// through the KFP API and ends CANCELED, its Workflow stopped on Argo too.
func TestServerOnArgo(t *testing.T) {
	kc := os.Getenv("KUBELINE_E2E_KUBECONFIG")
	if kc == "" {
		t.Fatal("KUBELINE_E2E_KUBECONFIG is not set: start the e2e environment with e2e/cluster.sh up (make e2e does)")
	}
	t.Setenv("KUBELINE_HOME", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctx = withCluster(ctx, clusterFlags{engine: engineFlags{engine: "argo", kubeconfig: kc}}, slog.New(slog.DiscardHandler))
	served := make(chan error, 1)
	go func() { served <- serveWith(ctx, l, "", storeFlags{}, accessFlags{}, io.Discard) }()
	t.Cleanup(func() { cancel(); <-served })
	c := &apiClient{server: "http://" + l.Addr().String(), http: http.DefaultClient}
	for i := 0; i < 200; i++ {
		if c.call("GET", "/apis/v2beta1/healthz", nil, nil) == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	create := func(file string) string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var spec map[string]any
		docs := strings.Split(string(b), "\n---\n")
		if err := yaml.Unmarshal([]byte(docs[0]), &spec); err != nil {
			t.Fatal(err)
		}
		if len(docs) > 1 {
			var platform map[string]any
			yaml.Unmarshal([]byte(docs[1]), &platform)
			spec = map[string]any{"pipeline_spec": spec, "platform_spec": platform}
		}
		var run map[string]any
		if err := c.call("POST", "/apis/v2beta1/runs", map[string]any{"display_name": file, "pipeline_spec": spec}, &run); err != nil {
			t.Fatal(err)
		}
		return run["run_id"].(string)
	}
	ok := create("../../../shared/kfp-corpus/ir/valid/hello_world.yaml")
	waitState(t, c, ok, "SUCCEEDED")
	var run struct {
		StateHistory []struct{ State string } `json:"state_history"`
	}
	c.call("GET", "/apis/v2beta1/runs/"+ok, nil, &run)
	var states []string
	for _, h := range run.StateHistory {
		states = append(states, h.State)
	}
	if !slices.Contains(states, "PENDING") || !slices.Contains(states, "RUNNING") || states[len(states)-1] != "SUCCEEDED" {
		t.Fatalf("state history %v", states)
	}
	var list struct {
		Runs []struct {
			ID string `json:"run_id"`
		} `json:"runs"`
	}
	c.call("GET", "/apis/v2beta1/runs", nil, &list)
	if !slices.ContainsFunc(list.Runs, func(r struct {
		ID string `json:"run_id"`
	}) bool {
		return r.ID == ok
	}) {
		t.Fatalf("the KFP list lacks run %s", ok)
	}

	held := create("testdata/hold.yaml")
	waitState(t, c, held, "RUNNING")
	if err := c.call("POST", "/apis/v2beta1/runs/"+held+":terminate", nil, nil); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, held, "CANCELED")
	cfg, ns, err := argo.Config(kc, "", "")
	if err != nil {
		t.Fatal(err)
	}
	wf, err := versioned.NewForConfigOrDie(cfg).ArgoprojV1alpha1().Workflows(ns).Get(context.Background(), "run-"+held[:8], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Spec.Shutdown != wfv1.ShutdownStrategyStop || wf.Status.Phase != wfv1.WorkflowFailed {
		t.Fatalf("on Argo: shutdown %q, phase %s (%s)", wf.Spec.Shutdown, wf.Status.Phase, wf.Status.Message)
	}
}
