package local_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
)

// pyCheck checks a finished run of a corpus pipeline.
type pyCheck func(t *testing.T, wf *wfv1.Workflow, logs string)

type pyCase struct {
	params map[string]string
	check  pyCheck
}

// pyCorpus lists the corpus pipelines (under ir/valid) whose lightweight
// Python components need only the standard library and nothing a cluster
// gives (volumes, secrets, GCS), with what each must do when run offline with
// the builtin executor. Generic parameter values fill required pipeline
// parameters.
var pyCorpus = map[string]pyCase{
	"artifacts_complex.yaml":                                                     {nil, succeeded},
	"artifacts_simple.yaml":                                                      {nil, succeeded},
	"collected_artifacts.yaml":                                                   {nil, succeeded},
	"components_with_optional_artifacts.yaml":                                    {nil, succeeded},
	"conditional_producer_and_consumers.yaml":                                    {nil, succeeded},
	"critical/add_numbers.yaml":                                                  {map[string]string{"a": "3", "b": "4"}, outputIs("Output", "7")},
	"critical/artifact_cache.yaml":                                               {nil, succeeded},
	"critical/artifact_crust.yaml":                                               {nil, succeeded},
	"critical/collected_parameters.yaml":                                         {nil, all(succeeded, nodeOutput("split-ids", "Output", `["s1","s2","s3"]`), countNodes("prepend-id", 3))},
	"critical/component_with_optional_inputs.yaml":                               {nil, succeeded},
	"critical/flip_coin.yaml":                                                    {nil, all(succeeded, flipCoinBranch)},
	"critical/if_else_with_oneof_artifacts.yaml":                                 {nil, succeeded},
	"critical/missing_kubernetes_optional_inputs.yaml":                           {nil, succeeded},
	"critical/mixed_parameters.yaml":                                             {nil, succeeded},
	"critical/multiple_artifacts_namedtuple.yaml":                                {nil, succeeded},
	"critical/multiple_parameters_namedtuple.yaml":                               {nil, all(succeeded, nodeOutput("core-comp", "val1", "foo"), nodeOutput("core-comp", "val2", "bar"))},
	"critical/parallel_for_after_dependency.yaml":                                {nil, succeeded},
	"critical/parameter_cache.yaml":                                              {nil, succeeded},
	"critical/parameter_oneof.yaml":                                              {nil, succeeded},
	"critical/parameters_simple.yaml":                                            {nil, outputIs("Output", "[2,4,6]")},
	"critical/pipeline_with_artifact_custom_path.yaml":                           {nil, succeeded},
	"critical/pipeline_with_env.yaml":                                            {nil, succeeded},
	"critical/pipeline_with_importer_workspace.yaml":                             {nil, succeeded},
	"critical/pipeline_with_input_status_state.yaml":                             {nil, succeeded},
	"critical/pipeline_with_placeholders.yaml":                                   {nil, succeeded},
	"critical/pipeline_with_pod_metadata.yaml":                                   {nil, succeeded},
	"critical/pipeline_with_retry.yaml":                                          {nil, all(succeeded, retryNode("add"))},
	"critical/pipeline_with_workspace.yaml":                                      {nil, succeeded},
	"critical/pythonic_artifacts_test_pipeline.yaml":                             {nil, succeeded},
	"cross_loop_after_topology.yaml":                                             {nil, succeeded},
	"env-var.yaml":                                                               {map[string]string{"env_var": "HOME"}, succeeded},
	"essential/component_with_env_variable.yaml":                                 {nil, succeeded},
	"essential/concat_message.yaml":                                              {map[string]string{"message1": "kubeline", "message2": "kubeline"}, succeeded},
	"essential/dict_input.yaml":                                                  {map[string]string{"struct": "{\"a\": 1}"}, succeeded},
	"essential/embedded_artifact.yaml":                                           {nil, succeeded},
	"essential/lightweight_python_functions_pipeline.yaml":                       {map[string]string{"message": "kubeline"}, succeeded},
	"essential/lightweight_python_functions_with_outputs.yaml":                   {map[string]string{"first_message": "kubeline", "first_number": "3", "second_message": "kubeline", "second_number": "3"}, succeeded},
	"essential/pipeline_with_condition.yaml":                                     {nil, succeeded},
	"essential/pipeline_with_metrics_outputs.yaml":                               {nil, succeeded},
	"essential/pipeline_with_nested_conditions.yaml":                             {nil, succeeded},
	"essential/pipeline_with_outputs.yaml":                                       {nil, succeeded},
	"essential/pipeline_with_params_containing_format.yaml":                      {nil, succeeded},
	"essential/pipeline_with_reused_component.yaml":                              {nil, succeeded},
	"identity.yaml":                                                              {map[string]string{"value": "kubeline"}, succeeded},
	"if_elif_else_complex.yaml":                                                  {nil, succeeded},
	"if_elif_else_with_oneof_parameters.yaml":                                    {nil, all(succeeded, dieBranch)},
	"if_else_with_oneof_artifacts.yaml":                                          {nil, succeeded},
	"if_else_with_oneof_parameters.yaml":                                         {nil, succeeded},
	"local_execution/local_execution_pipeline_with_exit_handler.yaml":            {nil, succeeded},
	"local_execution/local_execution_pipeline_with_ignore_upstream_failure.yaml": {map[string]string{"marker_path": "cleanup-marker.txt"}, succeeded},
	"local_execution/local_execution_pipeline_with_k8s_only_methods.yaml":        {nil, succeeded},
	"local_execution/local_execution_pipeline_with_oneof.yaml":                   {nil, succeeded},
	"local_execution/local_execution_pipeline_with_retry.yaml":                   {map[string]string{"counter_path": "flaky-counter.txt"}, all(succeeded, outputIs("Output", "attempt=2"), attempts("flaky", 2))},
	"local_execution/pipeline_with_caching.yaml":                                 {nil, succeeded},
	"local_execution/pipeline_with_collected_artifacts.yaml":                     {nil, succeeded},
	"log_streaming_compiled.yaml":                                                {nil, succeeded},
	"nested_return.yaml":                                                         {nil, succeeded},
	"nested_with_parameters.yaml":                                                {nil, succeeded},
	"output_metrics.yaml":                                                        {nil, all(succeeded, metricsStored("output-metrics", "metrics"))},
	"parallel_and_nested/loop_consume_upstream.yaml":                             {nil, succeeded},
	"parallel_and_nested/nested_parallel_for_secret.yaml":                        {nil, succeeded},
	"parallel_and_nested/nested_pipeline_opt_input_child_level_compiled.yaml":    {nil, succeeded},
	"parallel_and_nested/nested_pipeline_opt_inputs_nil_compiled.yaml":           {nil, succeeded},
	"parallel_and_nested/nested_pipeline_opt_inputs_parent_level_compiled.yaml":  {nil, succeeded},
	"parallel_and_nested/parallel_for_secret.yaml":                               {nil, succeeded},
	"parallel_and_nested/pipeline_in_pipeline.yaml":                              {nil, succeeded},
	"parallel_and_nested/pipeline_in_pipeline_complex.yaml":                      {nil, succeeded},
	"parallel_and_nested/pipeline_in_pipeline_loaded_from_yaml.yaml":             {nil, succeeded},
	"parallel_and_nested/pipeline_with_loops.yaml":                               {nil, succeeded},
	"parameters_complex.yaml":                                                    {nil, succeeded},
	"pipeline_producer_consumer.yaml":                                            {nil, succeeded},
	"pipeline_with_dynamic_importer_metadata.yaml":                               {nil, succeeded},
	"pipeline_with_loops_and_conditions.yaml":                                    {nil, succeeded},
	"pipeline_with_nested_loops.yaml":                                            {nil, succeeded},
	"pipeline_with_parallelfor_parallelism.yaml":                                 {map[string]string{"loop_parameter": "[1, 2]"}, succeeded},
	"pipeline_with_parallelfor_pipeline_param.yaml":                              {map[string]string{"loop_parameter": "[1, 2]", "prefix": "kubeline"}, succeeded},
	"pipeline_with_string_machine_fields_pipeline_input.yaml":                    {nil, succeeded},
	"pipeline_with_string_machine_fields_task_output.yaml":                       {nil, succeeded},
	"pipeline_with_task_using_ignore_upstream_failure.yaml":                      {nil, succeeded},
	"pipeline_with_utils.yaml":                                                   {nil, succeeded},
	"preprocess.yaml":                                                            {map[string]string{"input_dict_parameter": "{\"a\": 1}", "input_list_parameter": "[1, 2]", "message": "kubeline"}, succeeded},
	"pythonic_artifacts_with_list_of_artifacts.yaml":                             {nil, succeeded},
	"pythonic_artifacts_with_multiple_returns.yaml":                              {nil, succeeded},
	"failing/fail_v2.yaml":                                                       {nil, failedWith("fail")},
	"failing/pipeline_with_exit_handler.yaml":                                    {nil, all(failedWith("fail-op"), exitRan)},
	"failing/pipeline_with_multiple_exit_handlers.yaml":                          {nil, all(failedWith("fail-op"), exitRan)},
	"pipeline_as_exit_task.yaml":                                                 {nil, all(failedWith("fail-op"), exitRan, logHas("'state': 'FAILED'"), logHas("notify task failure"))},
	"pipeline_with_task_final_status.yaml":                                       {nil, all(failedWith("fail-op"), exitRan, logHas("FAILED"))},
}

// pyNotRunnable lists the corpus pipelines with lightweight Python
// components that cannot run on this machine, and why.
var pyNotRunnable = map[string]string{
	"critical/notebook_component_simple.yaml":                              "needs the packages nbclient, nbformat, jupyter_client, ipykernel",
	"notebook_component_mixed.yaml":                                        "needs the packages nbclient, nbformat, jupyter_client, ipykernel",
	"critical/pipeline_with_artifact_upload_download.yaml":                 "needs the package datasets",
	"critical/pipeline_with_submit_request.yaml":                           "needs the package requests (and a server)",
	"essential/component_with_pip_index_urls.yaml":                         "needs the package yapf",
	"essential/component_with_pip_install.yaml":                            "needs the package yapf",
	"essential/component_with_pip_install_in_venv.yaml":                    "needs the package yapf",
	"essential/iris_pipeline_compiled.yaml":                                "needs the packages pandas, scikit-learn",
	"integration/ray_integration_compiled.yaml":                            "needs the packages codeflare-sdk, ray",
	"metrics_visualization_v2.yaml":                                        "needs the package scikit-learn",
	"pipeline_with_google_artifact_type.yaml":                              "needs the package google-cloud-aiplatform",
	"pythonic_artifact_with_single_return.yaml":                            "needs the package dill",
	"upload_download_compiled.yaml":                                        "needs the package minio (and a server)",
	"containerized_python_component.yaml":                                  "containerized component: its code is in its image",
	"take_nap_compiled.yaml":                                               "sleeps for minutes by design",
	"take_nap_pipeline_root_compiled.yaml":                                 "sleeps for minutes by design",
	"component_with_metadata_fields.yaml":                                  "needs pipeline input artifacts",
	"input_artifact.yaml":                                                  "needs a pipeline input artifact",
	"pipeline_with_metadata_fields.yaml":                                   "needs pipeline input artifacts",
	"component_with_task_final_status_GH-12033.yaml":                       "a lone exit component: its final status has no producer",
	"pipeline_with_parallelfor_list_artifacts_GH-12033.yaml":               "ParallelFor over artifacts is not supported",
	"critical/pipeline_with_volume_long_name.yaml":                         "creates a PVC: needs Kubernetes",
	"parallel_and_nested/parallel_for_mount_pvc.yaml":                      "creates a PVC: needs Kubernetes",
	"pipeline_with_volume.yaml":                                            "creates a PVC: needs Kubernetes",
	"pipeline_with_volume_no_cache.yaml":                                   "creates a PVC: needs Kubernetes",
	"pvc_mount.yaml":                                                       "mounts a PVC: needs Kubernetes",
	"critical/pipeline_with_secret_as_env.yaml":                            "reads Kubernetes secrets",
	"pipeline_with_secret_as_volume.yaml":                                  "reads Kubernetes secrets",
	"create_pod_metadata_complex.yaml":                                     "expects pod-metadata env vars its executor's kubernetes config does not declare",
	"critical/modelcar.yaml":                                               "imports a model from an OCI image",
	"pipeline_with_importer.yaml":                                          "imports data from GCS",
	"pipeline_with_condition_dynamic_task_output_custom_training_job.yaml": "runs a Vertex AI custom training job",
	"pipeline_with_dynamic_task_output_custom_training_job.yaml":           "runs a Vertex AI custom training job",
}

// TestPythonCorpus runs, offline, every pipeline of pyCorpus with the builtin
// executor; at least 60 must reach their expected result.
func TestPythonCorpus(t *testing.T) { pythonCorpus(t, nil) }

// TestPythonCorpusSandboxed runs them as a multi-user server's engine
// does: every step in the sandbox, with the host's Debian python3.
func TestPythonCorpusSandboxed(t *testing.T) { pythonCorpus(t, newSandbox(t)) }

func pythonCorpus(t *testing.T, sb *sandbox.Bwrap) {
	if len(pyCorpus) < 60 {
		t.Fatalf("only %d corpus pipelines listed, want 60+", len(pyCorpus))
	}
	for name := range pyNotRunnable {
		if _, err := os.Stat(corpus + "valid/" + name); err != nil {
			t.Errorf("pyNotRunnable: %v", err)
		}
	}
	names := make([]string, 0, len(pyCorpus))
	for name := range pyCorpus {
		names = append(names, name)
	}
	sort.Strings(names)
	home := t.TempDir()
	opts := local.Options{Home: home, PythonExecutor: launcher.PythonBuiltin}
	if sb != nil {
		opts.Sandbox, opts.Confined = sb, true
	}
	// The pipelines mostly wait (sleeps, a 60-second log stream): run 8 at
	// once whatever -parallel is, then check each in its subtest.
	type result struct {
		wf   *wfv1.Workflow
		logs string
		err  error
	}
	results := map[string]chan result{}
	sem := make(chan struct{}, 8)
	for _, name := range names {
		wf := compileFile(t, corpus+"valid/"+name, pyCorpus[name].params)
		ch := make(chan result, 1)
		results[name] = ch
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o := opts
			logs := &syncBuffer{}
			o.Logs = logs
			out, err := local.New(o).Run(context.Background(), wf)
			ch <- result{out, logs.String(), err}
		}()
	}
	passed := 0
	t.Run("pipelines", func(t *testing.T) {
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				r := <-results[name]
				if r.err != nil {
					t.Fatal(r.err)
				}
				homes.Store(r.wf.Name, home)
				pyCorpus[name].check(t, r.wf, r.logs)
				if !t.Failed() {
					passed++
				}
			})
		}
	})
	t.Logf("%d of %d corpus Python pipelines ran to their expected result", passed, len(pyCorpus))
}

func all(checks ...pyCheck) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		for _, c := range checks {
			c(t, wf, logs)
		}
	}
}

func outputIs(name, want string) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		succeeded(t, wf, logs)
		for _, p := range wf.Status.Outputs.Parameters {
			if p.Name == name {
				if got := p.Value.String(); got != want {
					t.Errorf("pipeline output %s = %s, want %s", name, got, want)
				}
				return
			}
		}
		t.Errorf("no pipeline output %s", name)
	}
}

// nodeOutput checks that some node named display output want as name.
func nodeOutput(display, name, want string) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		var got []string
		for _, n := range wf.Status.Nodes {
			if n.DisplayName == display && n.Outputs != nil {
				for _, p := range n.Outputs.Parameters {
					if p.Name == name {
						got = append(got, p.Value.String())
						if p.Value.String() == want {
							return
						}
					}
				}
			}
		}
		t.Errorf("%s.%s = %v, want %s", display, name, got, want)
	}
}

func countNodes(display string, want int) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		n := 0
		for _, node := range wf.Status.Nodes {
			if node.DisplayName == display && node.Phase == wfv1.NodeSucceeded {
				n++
			}
		}
		if n != want {
			t.Errorf("%d %s nodes succeeded, want %d", n, display, want)
		}
	}
}

// metricsStored checks that a step's Metrics artifact holds logged metrics in
// its metadata.
func metricsStored(display, artifact string) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		n := nodesByDisplay(wf)[display]
		for _, a := range n.Outputs.Artifacts {
			if a.Name != artifact {
				continue
			}
			b, err := os.ReadFile(filepath.Join(homeOf(wf), "artifacts", a.S3.Key, "metadata.json"))
			if err != nil {
				t.Fatal(err)
			}
			var md struct {
				Metadata map[string]any `json:"metadata"`
			}
			if err := json.Unmarshal(b, &md); err != nil || len(md.Metadata) == 0 {
				t.Errorf("metrics metadata %s (%v)", b, err)
			}
			for k, v := range md.Metadata {
				if _, ok := v.(float64); !ok {
					t.Errorf("metric %s = %v is not a number", k, v)
				}
			}
			return
		}
		t.Errorf("%s has no artifact %s", display, artifact)
	}
}

// flipCoinBranch checks flip_coin took the branch its draws imply: heads ->
// random-num (0..9) > 5 ? print-msg : print-msg-2; tails -> random-num-2
// (10..19) > 15 ? print-msg-3 : print-msg-4.
func flipCoinBranch(t *testing.T, wf *wfv1.Workflow, logs string) {
	t.Helper()
	n := nodesByDisplay(wf)
	coin := param(t, n["flip-coin"], "Output")
	num, numNode, limit := "", "random-num", 5
	want := [2]string{"print-msg", "print-msg-2"}
	if coin == "tails" {
		numNode, limit, want = "random-num-2", 15, [2]string{"print-msg-3", "print-msg-4"}
	}
	num = param(t, n[numNode], "Output")
	v, _ := strconv.Atoi(num)
	ran := want[1]
	if v > limit {
		ran = want[0]
	}
	if n[ran].Phase != wfv1.NodeSucceeded {
		t.Errorf("coin %s, %s %s: %s should have run\n%s", coin, numNode, num, ran, summary(wf))
	}
	for _, other := range []string{"print-msg", "print-msg-2", "print-msg-3", "print-msg-4"} {
		if other != ran && n[other].Phase == wfv1.NodeSucceeded {
			t.Errorf("%s ran, but the draws say only %s", other, ran)
		}
	}
}

// dieBranch checks if_elif_else_with_oneof_parameters: the die's face picks
// the branch and the pipeline's OneOf output.
func dieBranch(t *testing.T, wf *wfv1.Workflow, logs string) {
	t.Helper()
	face := param(t, nodesByDisplay(wf)["flip-three-sided-die"], "Output")
	want := map[string]string{"heads": "Got heads!", "tails": "Got tails!", "draw": "Draw!"}[face]
	outputIs("Output", want)(t, wf, logs)
}

func attempts(display string, want int) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		n := nodesByDisplay(wf)[display]
		if n.Type != wfv1.NodeTypeRetry || len(n.Children) != want {
			t.Errorf("%s: %s with %d attempts, want Retry with %d", display, n.Type, len(n.Children), want)
		}
	}
}

func retryNode(display string) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		if n := nodesByDisplay(wf)[display]; n.Type != wfv1.NodeTypeRetry {
			t.Errorf("%s is a %s node, want Retry (its task has a retry policy)", display, n.Type)
		}
	}
}

// failedWith checks that the run failed because the named step failed.
func failedWith(display string) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		if wf.Status.Phase != wfv1.WorkflowFailed {
			t.Errorf("phase %s, want Failed", wf.Status.Phase)
		}
		if n := nodesByDisplay(wf)[display]; n.Phase != wfv1.NodeFailed {
			t.Errorf("%s: %s, want Failed", display, n.Phase)
		}
	}
}

// exitRan checks that every exit handler ran and succeeded.
func exitRan(t *testing.T, wf *wfv1.Workflow, logs string) {
	t.Helper()
	found := 0
	for _, n := range wf.Status.Nodes {
		if strings.HasSuffix(n.Name, ".onExit") {
			found++
			if n.Phase != wfv1.NodeSucceeded {
				t.Errorf("exit task %s: %s %s", n.DisplayName, n.Phase, n.Message)
			}
		}
	}
	if found == 0 {
		t.Errorf("no exit task ran\n%s", summary(wf))
	}
}

func logHas(s string) pyCheck {
	return func(t *testing.T, wf *wfv1.Workflow, logs string) {
		t.Helper()
		wantLog(t, logs, s)
	}
}

func succeeded(t *testing.T, wf *wfv1.Workflow, logs string) {
	t.Helper()
	if wf.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s %q\n%s\n--- logs\n%s", wf.Status.Phase, wf.Status.Message, summary(wf), tailOf(logs, 3000))
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
