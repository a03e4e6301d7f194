package local_test

import (
	"os"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// TestExamplesRun runs every pipeline under examples/ end to end on the
// embedded engine, as the README's first command does.
func TestExamplesRun(t *testing.T) { examplesRun(t, nil) }

// TestExamplesRunSandboxed runs them as a multi-user server's engine does:
// every step sandboxed, importers confined to an import root.
func TestExamplesRunSandboxed(t *testing.T) { examplesRun(t, newSandbox(t)) }

func examplesRun(t *testing.T, sb *sandbox.Bwrap) {
	files, err := filepath.Glob("../../../examples/*/pipeline.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("found %d examples (%v)", len(files), err)
	}
	// train-model imports a dataset version by default (kubeline resolves
	// dataset:// URIs before a run; cmd/kubeline's TestVersionsAndLineage
	// runs it so); here it imports a plain file.
	importRoot := t.TempDir()
	rows := filepath.Join(importRoot, "rows.txt")
	if err := os.WriteFile(rows, []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	params := map[string]map[string]string{"train-model": {"data": rows}}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			opts := local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonBuiltin}
			if sb != nil {
				opts.Sandbox, opts.Confined, opts.ImportRoot = sb, true, importRoot
			}
			wf, logs := runWFWith(t, compileFile(t, f, params[name]), opts)
			if wf.Status.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("phase %s\n%s\n%s", wf.Status.Phase, summary(wf), logs)
			}
			if wf.Status.Outputs == nil || len(wf.Status.Outputs.Parameters) == 0 {
				t.Fatalf("example produced no pipeline output\n%s", summary(wf))
			}
			t.Logf("%s = %s", wf.Status.Outputs.Parameters[0].Name, wf.Status.Outputs.Parameters[0].Value)
		})
	}
}
