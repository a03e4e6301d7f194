package local_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

const corpus = "../../../../shared/kfp-corpus/ir/"

// syncBuffer collects engine logs from concurrent steps.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runFile compiles a KFP file (or reads an Argo workflow) and runs it.
func runFile(t *testing.T, path string, params map[string]string) (*wfv1.Workflow, string) {
	t.Helper()
	return runFileIn(t, path, params, t.TempDir())
}

// compileFile compiles a KFP file, or reads an Argo Workflow file.
func compileFile(t *testing.T, path string, params map[string]string) *wfv1.Workflow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wf *wfv1.Workflow
	if strings.Contains(string(data), "kind: Workflow") {
		wf = &wfv1.Workflow{}
		if err := yaml.UnmarshalStrict(data, wf); err != nil {
			t.Fatal(err)
		}
	} else {
		wf, err = compiler.Compile(filepath.Base(path), data, compiler.Options{Params: params})
		if err != nil {
			t.Fatal(err)
		}
	}
	return wf
}

func runFileIn(t *testing.T, path string, params map[string]string, home string) (*wfv1.Workflow, string) {
	t.Helper()
	return runWF(t, compileFile(t, path, params), home)
}

var homes sync.Map // workflow name -> engine home, for checks that read artifacts

func homeOf(wf *wfv1.Workflow) string {
	h, _ := homes.Load(wf.Name)
	s, _ := h.(string)
	return s
}

func runWF(t *testing.T, wf *wfv1.Workflow, home string) (*wfv1.Workflow, string) {
	t.Helper()
	return runWFWith(t, wf, local.Options{Home: home, PythonExecutor: launcher.PythonBuiltin})
}

// runWFWith runs wf with opts (Logs are collected and returned).
func runWFWith(t *testing.T, wf *wfv1.Workflow, opts local.Options) (*wfv1.Workflow, string) {
	t.Helper()
	logs := &syncBuffer{}
	opts.Logs = logs
	home := opts.Home
	e := local.New(opts)
	out, err := e.Run(context.Background(), wf)
	if err != nil {
		t.Fatal(err)
	}
	homes.Store(out.Name, home)
	return out, logs.String()
}

func nodesByDisplay(wf *wfv1.Workflow) map[string]wfv1.NodeStatus {
	out := map[string]wfv1.NodeStatus{}
	for _, n := range wf.Status.Nodes {
		out[n.DisplayName] = n
	}
	return out
}

func param(t *testing.T, n wfv1.NodeStatus, name string) string {
	t.Helper()
	if n.Outputs != nil {
		for _, p := range n.Outputs.Parameters {
			if p.Name == name && p.Value != nil {
				return p.Value.String()
			}
		}
	}
	t.Fatalf("node %s has no output parameter %s (outputs %+v)", n.DisplayName, name, n.Outputs)
	return ""
}

func summary(wf *wfv1.Workflow) string {
	var lines []string
	for _, n := range wf.Status.Nodes {
		lines = append(lines, string(n.Type)+" "+n.DisplayName+" "+string(n.Phase)+" "+n.Message)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestHelloParams(t *testing.T) {
	wf, logs := runFile(t, "../../../examples/hello-params/pipeline.yaml", map[string]string{"recipient": "engine"})
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s\n%s\n%s", wf.Status.Phase, wf.Status.Message, summary(wf), logs)
	}
	nodes := nodesByDisplay(wf)
	if got := param(t, nodes["shout"], "shouted"); got != "HELLO, ENGINE!" {
		t.Fatalf("shouted = %q\n%s", got, logs)
	}
}

// TestSecretEnv: a step's env from a Kubernetes Secret (KFP's
// use_secret_as_env, the Secret named by a pipeline parameter) gets the
// value Options.Secrets gives, as a pod gets its cluster's Secret; without
// Secrets it is left out.
func TestSecretEnv(t *testing.T) {
	wf := compileFile(t, corpus+"valid/parallel_and_nested/parallel_for_secret.yaml", nil)
	secrets := func(name, key string) (string, bool) {
		if name == "test-secret-1" && key == "username" {
			return "user-1", true
		}
		return "", false
	}
	for _, tc := range []struct {
		name    string
		secrets func(string, string) (string, bool)
		want    string
	}{
		{"with secrets", secrets, "user-1"},
		{"without", nil, "not-set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := local.New(local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonBuiltin, Secrets: tc.secrets}).Run(context.Background(), wf.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			if got.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s: %s", got.Status.Phase, got.Status.Message)
			}
			var outs []string
			for _, n := range got.Status.Nodes {
				if n.Type == wfv1.NodeTypePod && n.Outputs != nil {
					for _, p := range n.Outputs.Parameters {
						if p.Name == "Output" {
							outs = append(outs, p.Value.String())
						}
					}
				}
			}
			if want := []string{tc.want, tc.want, tc.want}; strings.Join(outs, ",") != strings.Join(want, ",") {
				t.Errorf("the three steps returned %v, want %v", outs, want)
			}
		})
	}
}
