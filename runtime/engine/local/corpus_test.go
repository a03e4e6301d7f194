package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// TestCorpusRuns runs the corpus pipelines whose steps run on a plain host
// and checks their real effects.
func TestCorpusRuns(t *testing.T) { corpusRuns(t, nil) }

// TestCorpusRunsSandboxed runs them as a multi-user server's engine does:
// every step in the sandbox, as a uid of its run's own.
func TestCorpusRunsSandboxed(t *testing.T) { corpusRuns(t, newSandbox(t)) }

// corpusRuns runs the host-runnable corpus, sandboxed when sb is set.
func corpusRuns(t *testing.T, sb *sandbox.Bwrap) {
	cases := []struct {
		file   string
		params map[string]string
		check  func(t *testing.T, wf *wfv1.Workflow, logs string)
	}{
		{"argo_compatibility/fast_artifact.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			n := nodesByDisplay(wf)["write-artifact"]
			if n.Outputs == nil || len(n.Outputs.Artifacts) != 1 {
				t.Fatalf("write-artifact outputs %+v", n.Outputs)
			}
			b, err := os.ReadFile(filepath.Join(homeOf(wf), "artifacts", n.Outputs.Artifacts[0].S3.Key, "data"))
			if err != nil || string(b) != "foo" {
				t.Fatalf("artifact data %q, %v", b, err)
			}
		}},
		{"valid/hello_world.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "hello world")
		}},
		{"valid/pipeline_with_only_display_name.yaml", nil, nil},
		{"valid/arguments_parameters.yaml", map[string]string{"param1": "first", "param2": "second"}, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "first")
		}},
		{"valid/sequential_v1.yaml", map[string]string{"param1": "alpha", "param2": "beta"}, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "echo: alpha")
			wantLog(t, logs, "echo-2: beta")
		}},
		{"valid/pipeline_with_task_final_status_yaml.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, `"pipelineTaskName":"exit-handler-1","state":"SUCCEEDED"`)
		}},
		{"valid/critical/container_component_with_no_inputs.yaml", nil, nil},
		{"valid/critical/producer_consumer_param_pipeline.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "consumer: Hello world, this is an output parameter")
		}},
		{"valid/critical/two_step_pipeline_containerized.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "Hello KFP Containerized!")
		}},
		{"valid/essential/container_no_input.yaml", nil, nil},
		{"valid/essential/pipeline_with_after.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			n := nodesByDisplay(wf)
			for _, pair := range [][2]string{{"print-text", "print-text-2"}, {"print-text-2", "print-text-3"}} {
				if !contains(n[pair[0]].Children, n[pair[1]].ID) || n[pair[1]].StartedAt.Time.Before(n[pair[0]].FinishedAt.Time) {
					t.Errorf("%s did not run after %s", pair[1], pair[0])
				}
			}
		}},
		{"valid/essential/placeholder_with_if_placeholder_none_input_value.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "--arg0 input0 --arg2 default value") // the Else branch of IfPresent
		}},
		{"valid/gpu-scheduling/nvidia_gpu_scheduling_check.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			wantLog(t, logs, "GPU scheduling check: PASS")
			if rd := nodesByDisplay(wf)["verify-gpu-scheduled"].ResourcesDuration; rd["nvidia.com/gpu"] == 0 {
				t.Errorf("GPU request not recorded on the node: %v", rd)
			}
		}},
		{"valid/pipeline_with_concat_placeholder.yaml", nil, nil}, // the script's [[ $0 == one+two=three ]] checks Concat
		{"valid/essential/pipeline_with_nested_conditions_yaml.yaml", nil, func(t *testing.T, wf *wfv1.Workflow, logs string) {
			ran, skipped := 0, 0
			for _, n := range wf.Status.Nodes {
				switch n.Phase {
				case wfv1.NodeSkipped:
					skipped++
					if !strings.HasPrefix(n.Message, "when '") || !strings.HasSuffix(n.Message, "' evaluated false") {
						t.Errorf("skipped node %s: message %q", n.DisplayName, n.Message)
					}
				case wfv1.NodeSucceeded:
					if strings.HasPrefix(n.DisplayName, "print") {
						ran++
					}
				}
			}
			if ran == 0 || skipped == 0 {
				t.Errorf("want some branches run and some skipped, got %d run, %d skipped", ran, skipped)
			}
		}},
	}
	// pipeline_with_concat_placeholder's script uses [[ ]], which its
	// busybox image's sh has and Debian's dash does not: give the steps a
	// PATH whose sh is bash, as the image would.
	shDir := t.TempDir()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed for pipeline_with_concat_placeholder: ", err)
	}
	if err := os.Symlink(bash, filepath.Join(shDir, "sh")); err != nil {
		t.Fatal(err)
	}
	if sb != nil { // the sandbox shows the host's system and shDir only
		if sb, err = sandbox.New(sandbox.Options{ReadOnly: append(append([]string{}, sandbox.DefaultReadOnly...), shDir)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			opts := local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonBuiltin}
			if sb != nil {
				opts.Sandbox, opts.Confined = sb, true
			}
			if strings.Contains(tc.file, "concat_placeholder") {
				t.Setenv("PATH", shDir+string(os.PathListSeparator)+os.Getenv("PATH"))
				if sb != nil {
					opts.Env = append([]string{"PATH=" + shDir + ":" + sandbox.Path}, local.SandboxEnv[1:]...)
				}
			}
			wf, logs := runWFWith(t, compileFile(t, corpus+tc.file, tc.params), opts)
			if wf.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s %q\n%s\n--- logs\n%s", wf.Status.Phase, wf.Status.Message, summary(wf), logs)
			}
			if tc.check != nil {
				tc.check(t, wf, logs)
			}
			t.Logf("\n%s\n--- logs\n%s", summary(wf), logs)
		})
	}
}

func wantLog(t *testing.T, logs, want string) {
	t.Helper()
	if !strings.Contains(logs, want) {
		t.Errorf("logs lack %q:\n%s", want, logs)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// newSandbox is the sandbox of a multi-user server's engine. It needs root
// and bubblewrap, which CI has (.ci/run installs bubblewrap); without them
// the test fails saying so.
func newSandbox(t *testing.T) *sandbox.Bwrap {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sb
}
