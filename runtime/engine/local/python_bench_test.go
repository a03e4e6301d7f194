package local_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// pythonChain is a KFP pipeline of n lightweight Python steps, each adding
// one to the previous step's output, in the exact command shape the kfp SDK
// writes.
func pythonChain(tb testing.TB, n int) *wfv1.Workflow {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`components:
  comp-add:
    executorLabel: exec-add
    inputDefinitions:
      parameters:
        a: {parameterType: NUMBER_INTEGER}
    outputDefinitions:
      parameters:
        Output: {parameterType: NUMBER_INTEGER}
deploymentSpec:
  executors:
    exec-add:
      container:
        image: python:3.11
        args: [--executor_input, '{{$}}', --function_to_execute, add]
        command:
        - sh
        - -c
        - "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'kfp==2.14.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' && \"$0\" \"$@\"\n"
        - sh
        - -ec
        - "program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path \"$program_path/ephemeral_component.py\" \"$@\"\n"
        - "\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\ndef add(a: int) -> int:\n    return a + 1\n\n"
pipelineInfo: {name: python-chain}
root:
  dag:
    outputs:
      parameters:
        Output: {valueFromParameter: {outputParameterKey: Output, producerSubtask: `)
	fmt.Fprintf(&b, "add-%d}}\n    tasks:\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "      add-%d:\n        componentRef: {name: comp-add}\n        taskInfo: {name: add-%d}\n", i, i)
		if i == 1 {
			b.WriteString("        inputs: {parameters: {a: {runtimeValue: {constant: 0}}}}\n")
		} else {
			fmt.Fprintf(&b, "        dependentTasks: [add-%d]\n        inputs: {parameters: {a: {taskOutputParameter: {producerTask: add-%d, outputParameterKey: Output}}}}\n", i-1, i-1)
		}
	}
	b.WriteString("  outputDefinitions:\n    parameters:\n      Output: {parameterType: NUMBER_INTEGER}\nschemaVersion: 2.1.0\nsdkVersion: kfp-2.14.3\n")
	wf, err := compiler.Compile("chain.yaml", []byte(b.String()), compiler.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return wf
}

func benchPython(b *testing.B, executor string) {
	wf := pythonChain(b, 20)
	home := b.TempDir()
	if executor == launcher.PythonVenv {
		// A venv made by the fake pip (see TestVenvMadeOnceAndReused) before timing.
		bin := b.TempDir()
		os.WriteFile(filepath.Join(bin, "pip"), []byte(fakePip), 0o755)
		src, _ := filepath.Abs("../../launcher/pyexec")
		b.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		b.Setenv("FAKE_PIP_LOG", filepath.Join(b.TempDir(), "log"))
		b.Setenv("FAKE_KFP_SRC", src)
	}
	e := local.New(local.Options{Home: home, PythonExecutor: executor})
	run := func() {
		out, err := e.Run(context.Background(), wf)
		if err != nil || out.Status.Phase != wfv1.WorkflowSucceeded {
			b.Fatalf("run: %v %s", err, out.Status.Phase)
		}
		if got := out.Status.Outputs.Parameters[0].Value.String(); got != "20" {
			b.Fatalf("output %s, want 20", got)
		}
	}
	run() // warm: the builtin executor written out, the venv made
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
}

// BenchmarkPython20Builtin: a 20-step lightweight Python pipeline with the
// builtin executor.
func BenchmarkPython20Builtin(b *testing.B) { benchPython(b, launcher.PythonBuiltin) }

// BenchmarkPython20Venv: the same with an existing venv.
func BenchmarkPython20Venv(b *testing.B) { benchPython(b, launcher.PythonVenv) }
