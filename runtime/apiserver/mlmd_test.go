package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
)

// mlmdCall calls one MetadataStoreService method over gRPC-web, as the
// Pipelines UI does, with an optional bearer token.
func mlmdCall[Req, Res any](t *testing.T, root, method, token string, req *Req) (*Res, error) {
	t.Helper()
	c := connect.NewClient[Req, Res](http.DefaultClient, root+"/ml_metadata.MetadataStoreService/"+method, connect.WithGRPCWeb())
	r := connect.NewRequest(req)
	if token != "" {
		r.Header().Set("Authorization", "Bearer "+token)
	}
	res, err := c.CallUnary(context.Background(), r)
	if err != nil {
		return nil, err
	}
	return res.Msg, nil
}

func mustCall[Req, Res any](t *testing.T, root, method string, req *Req) *Res {
	t.Helper()
	res, err := mlmdCall[Req, Res](t, root, method, "", req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res
}

func strProp(props map[string]*mlpb.Value, k string) string { return props[k].GetStringValue() }

// TestMetadataOfARun: a run of an SDK-compiled pipeline (artifacts passed
// between Python steps, If/Else, ParallelFor) read back through ML
// Metadata over gRPC-web the way the UI reads it: its context by type and
// name, every task of the spec found by task_name under its parent DAG
// (iterations by iteration_index) with its state, parameters typed, and
// artifacts linked by events with their types, URIs and metadata.
func TestMetadataOfARun(t *testing.T) {
	k := startKubeline(t, serverOptions{})
	base := k.kfp()
	p := upload(t, base, "testdata/sdk_demo.yaml", "name=demo")
	r := call(t, "POST", base+"/runs", map[string]any{"display_name": "demo",
		"pipeline_version_reference": map[string]any{"pipeline_id": p.body["pipeline_id"]},
		"runtime_config":             map[string]any{"parameters": map[string]any{"n": 4}}})
	if r.code != 200 {
		t.Fatalf("run: %d %s", r.code, r.raw)
	}
	runID := r.body["run_id"].(string)
	if run := waitRun(t, base, runID); run["state"] != "SUCCEEDED" {
		t.Fatalf("run ended %v: %v", run["state"], run["error"])
	}
	ctxRes := mustCall[mlpb.GetContextByTypeAndNameRequest, mlpb.GetContextByTypeAndNameResponse](t, k.root, "GetContextByTypeAndName",
		&mlpb.GetContextByTypeAndNameRequest{TypeName: ptr("system.PipelineRun"), ContextName: ptr(runID)})
	if ctxRes.GetContext().GetName() != runID || ctxRes.GetContext().GetType() != "system.PipelineRun" {
		t.Fatalf("context: %v", ctxRes.GetContext())
	}
	execs := mustCall[mlpb.GetExecutionsByContextRequest, mlpb.GetExecutionsByContextResponse](t, k.root, "GetExecutionsByContext",
		&mlpb.GetExecutionsByContextRequest{ContextId: ctxRes.GetContext().Id}).GetExecutions()
	// find is the UI's lookup: the execution of task under the DAG parent.
	find := func(parent *mlpb.Execution, task string, iteration int64) *mlpb.Execution {
		var found *mlpb.Execution
		for _, e := range execs {
			cp := e.GetCustomProperties()
			if strProp(cp, "task_name") != task {
				continue
			}
			if parent == nil && cp["parent_dag_id"] == nil || parent != nil && cp["parent_dag_id"].GetIntValue() == parent.GetId() {
				if iteration >= 0 && cp["iteration_index"].GetIntValue() != iteration {
					continue
				}
				if found != nil {
					t.Errorf("two executions of %q under %v", task, parent.GetId())
				}
				found = e
			}
		}
		if found == nil {
			t.Fatalf("no execution of task %q under DAG %d (%d executions)", task, parent.GetId(), len(execs))
		}
		return found
	}
	root := find(nil, "", -1)
	complete := mlpb.Execution_COMPLETE
	for _, c := range []struct {
		parent *mlpb.Execution
		task   string
		typ    string
		state  mlpb.Execution_State
	}{
		{root, "make-data", "system.ContainerExecution", complete},
		{root, "train", "system.ContainerExecution", complete},
		{root, "flip", "system.ContainerExecution", complete},
		{root, "condition-branches-1", "system.DAGExecution", complete},
		{root, "for-loop-5", "system.DAGExecution", complete},
	} {
		if e := find(c.parent, c.task, -1); e.GetType() != c.typ || e.GetLastKnownState() != c.state {
			t.Errorf("%s: %s %s, want %s %s", c.task, e.GetType(), e.GetLastKnownState(), c.typ, c.state)
		}
	}
	branches := find(root, "condition-branches-1", -1)
	if e := find(branches, "condition-2", -1); e.GetLastKnownState() != complete || find(e, "say", -1).GetLastKnownState() != complete {
		t.Errorf("the taken branch: %v", e)
	}
	if e := find(branches, "condition-3", -1); e.GetLastKnownState() != mlpb.Execution_CANCELED {
		t.Errorf("the branch not taken is %s, want CANCELED (KFP's not triggered)", e.GetLastKnownState())
	}
	loop := find(root, "for-loop-5", -1)
	if n := loop.GetCustomProperties()["iteration_count"].GetIntValue(); n != 3 {
		t.Errorf("loop iteration_count %d, want 3", n)
	}
	for i := int64(0); i < 3; i++ {
		it := find(loop, "for-loop-5", i)
		say := find(it, "say-3", -1)
		if msg := say.GetCustomProperties()["inputs"].GetStructValue().GetFields()["msg"].GetStringValue(); msg != []string{"1", "2", "3"}[i] {
			t.Errorf("iteration %d: say-3 got msg %q", i, msg)
		}
	}
	make := find(root, "make-data", -1)
	if n := make.GetCustomProperties()["inputs"].GetStructValue().GetFields()["n"].GetNumberValue(); n != 4 {
		t.Errorf("make-data inputs: %v, want n=4 as a number", make.GetCustomProperties()["inputs"])
	}
	if out := make.GetCustomProperties()["outputs"].GetStructValue().GetFields()["Output"].GetStringValue(); out != "made 4" {
		t.Errorf("make-data outputs: %q", out)
	}
	if pod := strProp(make.GetCustomProperties(), "pod_name"); !strings.Contains(pod, "-make-data-") {
		t.Errorf("make-data pod_name %q", pod)
	}
	// Artifacts: make-data's dataset is train's input; train's model has its metadata.
	train := find(root, "train", -1)
	events := mustCall[mlpb.GetEventsByExecutionIDsRequest, mlpb.GetEventsByExecutionIDsResponse](t, k.root, "GetEventsByExecutionIDs",
		&mlpb.GetEventsByExecutionIDsRequest{ExecutionIds: []int64{make.GetId(), train.GetId()}}).GetEvents()
	byName := map[string]*mlpb.Event{}
	for _, ev := range events {
		byName[ev.GetType().String()+" "+ev.GetPath().GetSteps()[0].GetKey()+" "+map[bool]string{true: "make", false: "train"}[ev.GetExecutionId() == make.GetId()]] = ev
	}
	data, in, model := byName["OUTPUT data make"], byName["INPUT data train"], byName["OUTPUT model train"]
	if data == nil || in == nil || model == nil || data.GetArtifactId() != in.GetArtifactId() {
		t.Fatalf("events: %v", events)
	}
	arts := mustCall[mlpb.GetArtifactsByIDRequest, mlpb.GetArtifactsByIDResponse](t, k.root, "GetArtifactsByID",
		&mlpb.GetArtifactsByIDRequest{ArtifactIds: []int64{data.GetArtifactId(), model.GetArtifactId()}}).GetArtifacts()
	if len(arts) != 2 {
		t.Fatalf("artifacts: %v", arts)
	}
	for _, a := range arts {
		switch a.GetId() {
		case data.GetArtifactId():
			if a.GetType() != "system.Dataset" || !strings.HasSuffix(a.GetUri(), "/data/data") || strProp(a.GetCustomProperties(), "display_name") != "data" {
				t.Errorf("dataset artifact: %v", a)
			}
		default:
			if a.GetType() != "system.Model" || a.GetCustomProperties()["rows"].GetDoubleValue() != 4 {
				t.Errorf("model artifact (want its metadata rows=4): %v", a)
			}
		}
	}
	// The run's task details in KFP's shape name the same ids.
	got := call(t, "GET", base+"/runs/"+runID, nil)
	var trainTask map[string]any
	for _, task := range listOf(got.body["run_details"].(map[string]any)["task_details"]) {
		if task["run_id"] != runID {
			t.Errorf("task %v: run_id %v, want the run's id", task["display_name"], task["run_id"])
		}
		if task["display_name"] == "train" {
			trainTask = task
		}
	}
	wantTrain := map[string]any{"execution_id": fmt.Sprint(train.GetId()), "pod_name": strProp(train.GetCustomProperties(), "pod_name"),
		"inputs":  map[string]any{"data": map[string]any{"artifact_ids": []any{fmt.Sprint(data.GetArtifactId())}}},
		"outputs": map[string]any{"model": map[string]any{"artifact_ids": []any{fmt.Sprint(model.GetArtifactId())}}, "executor-logs": trainTask["outputs"].(map[string]any)["executor-logs"]}}
	for k, v := range wantTrain {
		if diff := cmp.Diff(v, trainTask[k]); diff != "" {
			t.Errorf("train task detail %s (-want +got):\n%s", k, diff)
		}
	}
	types := mustCall[mlpb.GetArtifactTypesRequest, mlpb.GetArtifactTypesResponse](t, k.root, "GetArtifactTypes", &mlpb.GetArtifactTypesRequest{})
	if tid := arts[0].GetTypeId(); !strings.Contains(types.String(), "system.Dataset") || tid == 0 {
		t.Errorf("artifact types: %v", types)
	}
	// The Artifacts and Executions pages: lists, paged.
	list := mustCall[mlpb.GetArtifactsRequest, mlpb.GetArtifactsResponse](t, k.root, "GetArtifacts",
		&mlpb.GetArtifactsRequest{Options: &mlpb.ListOperationOptions{MaxResultSize: ptr(int32(2))}})
	if len(list.GetArtifacts()) != 2 || list.GetNextPageToken() == "" {
		t.Errorf("first page of artifacts: %v", list)
	}
	all := mustCall[mlpb.GetExecutionsRequest, mlpb.GetExecutionsResponse](t, k.root, "GetExecutions", &mlpb.GetExecutionsRequest{})
	if len(all.GetExecutions()) < 10 {
		t.Errorf("executions list: %d", len(all.GetExecutions()))
	}
	// Ids are stable: the same run read again gives the same ids.
	again := mustCall[mlpb.GetExecutionsByIDRequest, mlpb.GetExecutionsByIDResponse](t, k.root, "GetExecutionsByID",
		&mlpb.GetExecutionsByIDRequest{ExecutionIds: []int64{train.GetId()}}).GetExecutions()
	if len(again) != 1 || strProp(again[0].GetCustomProperties(), "task_name") != "train" {
		t.Errorf("execution %d by id: %v", train.GetId(), again)
	}
	// An unknown run has no context.
	_, err := mlmdCall[mlpb.GetContextByTypeAndNameRequest, mlpb.GetContextByTypeAndNameResponse](t, k.root, "GetContextByTypeAndName", "",
		&mlpb.GetContextByTypeAndNameRequest{TypeName: ptr("system.PipelineRun"), ContextName: ptr("nope")})
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("context of an unknown run: %v, want NOT_FOUND", err)
	}
}

func ptr[T any](v T) *T { return &v }
