package argo_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const corpus = "../../../shared/kfp-corpus/ir/valid/"

// goldenCases are representative pipelines: one per construct family.
var goldenCases = map[string]string{
	"hello_world":      "hello_world.yaml",
	"flip_coin":        "critical/flip_coin.yaml",                      // nested conditions, CEL -> when
	"if_elif_else":     "if_elif_else_complex.yaml",                    // branches, OneOf outputs
	"loops":            "parallel_and_nested/pipeline_with_loops.yaml", // raw/param loops, subvars
	"parallelism":      "pipeline_with_parallelfor_parallelism.yaml",   // parallelismLimit wrapper
	"collected":        "collected_artifacts.yaml",                     // dsl.Collected artifacts
	"nested":           "parallel_and_nested/pipeline_in_pipeline_complex.yaml",
	"exit_handler":     "failing/pipeline_with_exit_handler.yaml", // exit task, final status
	"importer":         "pipeline_with_importer.yaml",
	"retry":            "critical/pipeline_with_retry.yaml",
	"secrets_env":      "critical/pipeline_with_secret_as_env.yaml", // kubernetes platform spec
	"volume":           "pipeline_with_volume.yaml",                 // PVC create/mount/delete
	"gpu":              "gpu-scheduling/nvidia_gpu_scheduling_check.yaml",
	"placeholders":     "critical/pipeline_with_placeholders.yaml",
	"concat_ifpresent": "container_with_if_placeholder.yaml",
	"workspace":        "critical/pipeline_with_workspace.yaml",
	"importer_ws":      "critical/pipeline_with_importer_workspace.yaml", // downloadToWorkspace
	"mixed_condition":  "pipeline_with_loops_and_conditions.yaml",
	"collected_skip":   "artifacts_complex.yaml", // a list collected from a task under a condition
}

func TestGolden(t *testing.T) {
	if len(goldenCases) < 12 {
		t.Fatalf("want at least 12 golden cases, have %d", len(goldenCases))
	}
	for name, file := range goldenCases {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(corpus + file)
			if err != nil {
				t.Fatal(err)
			}
			wf, err := compiler.Compile(filepath.Base(file), data, compiler.Options{})
			if err != nil {
				t.Fatalf("compile %s: %v", file, err)
			}
			got, err := compiler.Marshal(wf)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./compiler/... -update)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", file, golden, diff)
			}
		})
	}
}
