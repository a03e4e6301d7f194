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
	"github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/e2e/argofake"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/lineage"
)

// node is what parity compares of a status node.
type node struct {
	Type, Phase, Boundary string
	Children              []string
}

func graph(wf *wfv1.Workflow) map[string]node {
	names := map[string]string{}
	for id, n := range wf.Status.Nodes {
		names[id] = n.Name
	}
	out := map[string]node{}
	for _, n := range wf.Status.Nodes {
		g := node{Type: string(n.Type), Phase: string(n.Phase), Boundary: names[n.BoundaryID]}
		for _, c := range n.Children {
			g.Children = append(g.Children, names[c])
		}
		sort.Strings(g.Children)
		out[n.Name] = g
	}
	return out
}

// TestParity runs compiled pipelines on the embedded engine (real processes)
// and on the real Argo controller (kwok's fake pods, which report the
// embedded run's outputs and fail where its steps failed), and compares the
// status graphs node for node and the lineage extracted from both.
func TestParity(t *testing.T) {
	e := engine(t)
	cfg, ns, err := Config(os.Getenv("KUBELINE_E2E_KUBECONFIG"), "", "default")
	if err != nil {
		t.Fatal(err)
	}
	kube, wfs := kubernetes.NewForConfigOrDie(cfg), versioned.NewForConfigOrDie(cfg)
	local_ := "../local/testdata/"
	cases := []struct {
		name, file string
		params     map[string]string
	}{
		{"dag", "../../../../shared/kfp-corpus/ir/valid/hello_world.yaml", nil},
		{"outputs", "../../../examples/hello-params/pipeline.yaml", nil},
		{"parallelfor", "../../../examples/fan-out/pipeline.yaml", nil},
		{"conditions", local_ + "branches.yaml", nil},
		{"loop-parallelism", local_ + "loop.yaml", map[string]string{"logdir": os.TempDir()}},
		{"exit-handler", local_ + "exit.yaml", nil},
		{"retry", local_ + "retry.yaml", map[string]string{"statedir": "/nonexistent/kubeline"}},
		{"nested", local_ + "nested.yaml", nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := compiler.Compile(filepath.Base(c.file), data, compiler.Options{Params: c.params})
			if err != nil {
				t.Fatal(err)
			}
			wf.Name, wf.GenerateName = fmt.Sprintf("parity-%s-%d-%d", c.name, time.Now().Unix()%100000, i), ""
			want, err := local.New(local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonBuiltin}).Run(context.Background(), wf.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Status.Nodes) < 2 {
				t.Fatalf("the embedded run has %d nodes", len(want.Status.Nodes))
			}
			got := runOnArgo(t, e, kube, wfs, ns, wf, want)
			t.Logf("%d nodes compared, phase %s", len(want.Status.Nodes), want.Status.Phase)
			if d := cmp.Diff(graph(want), graph(got)); d != "" {
				t.Errorf("status graphs differ (-embedded +argo):\n%s", d)
			}
			if want.Status.Phase != got.Status.Phase {
				t.Errorf("phase: embedded %s, argo %s", want.Status.Phase, got.Status.Phase)
			}
			lw := lineage.Build([]lineage.Run{{ID: "r", Workflow: want}}, nil)
			la := lineage.Build([]lineage.Run{{ID: "r", Workflow: got}}, nil)
			if d := cmp.Diff(lw, la); d != "" {
				t.Errorf("lineage differs (-embedded +argo):\n%s", d)
			}
		})
	}
}

// runOnArgo submits wf with the failing templates of the embedded run
// marked for kwok, reports the embedded run's outputs for each fake pod,
// and returns the final status.
func runOnArgo(t *testing.T, e *Engine, kube kubernetes.Interface, wfs versioned.Interface, ns string, wf, want *wfv1.Workflow) *wfv1.Workflow {
	t.Helper()
	wf = wf.DeepCopy()
	failed := map[string]bool{}
	for _, n := range want.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && (n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError) {
			failed[n.TemplateName] = true
		}
	}
	for i := range wf.Spec.Templates {
		if failed[wf.Spec.Templates[i].Name] {
			if wf.Spec.Templates[i].Metadata.Labels == nil {
				wf.Spec.Templates[i].Metadata.Labels = map[string]string{}
			}
			wf.Spec.Templates[i].Metadata.Labels["e2e.kubeline.dev/exit-code"] = "1"
		}
	}
	byName := map[string]wfv1.NodeStatus{}
	for _, n := range want.Status.Nodes {
		byName[n.Name] = n
	}
	values := func(pod *corev1.Pod, tmpl *wfv1.Template) (*wfv1.Outputs, error) {
		out := tmpl.Outputs.DeepCopy()
		n := byName[pod.Annotations["workflows.argoproj.io/node-name"]]
		for i, p := range out.Parameters {
			if n.Outputs == nil {
				continue
			}
			for _, q := range n.Outputs.Parameters {
				if q.Name == p.Name && q.Value != nil {
					out.Parameters[i].Value = q.Value
				}
			}
		}
		if n.Outputs != nil && n.Outputs.Result != nil {
			out.Result = n.Outputs.Result
		}
		return out, nil
	}
	ctx := context.Background()
	name, err := e.Submit(ctx, wf)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.Watch(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(3 * time.Minute)
	var last *wfv1.Workflow
	for {
		select {
		case w, ok := <-ch:
			if !ok {
				return last
			}
			last = w
		case <-time.After(200 * time.Millisecond):
			if _, err := argofake.ReportOutputs(ctx, kube, wfs, ns, name, values); err != nil && !strings.Contains(err.Error(), "not found") {
				t.Logf("report outputs: %v", err)
			}
		case <-deadline:
			t.Fatalf("%s did not complete; last phase %s", name, last.Status.Phase)
		}
	}
}
