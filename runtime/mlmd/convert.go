package mlmd

import (
	"time"

	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// ids maps a graph's keys to MLMD ids (one scope: the run).
type ids map[string]int64

func millis(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	return proto.Int64(t.UnixMilli())
}

func str(v string) *mlpb.Value { return &mlpb.Value{Value: &mlpb.Value_StringValue{StringValue: v}} }

func integer(v int64) *mlpb.Value { return &mlpb.Value{Value: &mlpb.Value_IntValue{IntValue: v}} }

// value renders a JSON-like value: strings, numbers (double), booleans and
// anything else as a struct value.
func value(v any) *mlpb.Value {
	switch x := v.(type) {
	case string:
		return str(x)
	case float64:
		return &mlpb.Value{Value: &mlpb.Value_DoubleValue{DoubleValue: x}}
	case int64:
		return integer(x)
	case int:
		return integer(int64(x))
	case bool:
		return &mlpb.Value{Value: &mlpb.Value_BoolValue{BoolValue: x}}
	}
	sv, err := structpb.NewValue(v)
	if err != nil {
		return str("")
	}
	return &mlpb.Value{Value: &mlpb.Value_StructValue{StructValue: &structpb.Struct{Fields: map[string]*structpb.Value{"value": sv}}}}
}

// structOf is a map as a struct value (KFP's inputs and outputs).
func structOf(m map[string]any) *mlpb.Value {
	s, err := structpb.NewStruct(m)
	if err != nil {
		s = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	return &mlpb.Value{Value: &mlpb.Value_StructValue{StructValue: s}}
}

func contextProto(g Graph, id int64) *mlpb.Context {
	t := contextTypes[0]
	props := map[string]*mlpb.Value{"display_name": str(g.Run.DisplayName)}
	if g.Run.Namespace != "" {
		props["namespace"] = str(g.Run.Namespace)
	}
	if g.Run.Workflow != nil && g.Run.Workflow.Name != "" {
		props["resource_name"] = str(g.Run.Workflow.Name)
	}
	return &mlpb.Context{Id: proto.Int64(id), Name: proto.String(g.Run.ID), TypeId: t.Id, Type: t.Name,
		CustomProperties: props, CreateTimeSinceEpoch: millis(g.Run.CreatedAt), LastUpdateTimeSinceEpoch: millis(g.Run.CreatedAt)}
}

func executionProto(g Graph, e Execution, id ids) *mlpb.Execution {
	t := executionTypeOf(e.Type)
	props := map[string]*mlpb.Value{"task_name": str(e.TaskName), "display_name": str(e.DisplayName)}
	if e.ParentKey != "" {
		props["parent_dag_id"] = integer(id[e.ParentKey])
	}
	if e.PodName != "" {
		props["pod_name"] = str(e.PodName)
	}
	if g.Run.Namespace != "" {
		props["namespace"] = str(g.Run.Namespace)
	}
	if e.Iteration != nil {
		props["iteration_index"] = integer(*e.Iteration)
	}
	if e.Iterations != nil {
		props["iteration_count"] = integer(*e.Iterations)
	}
	if e.Inputs != nil {
		props["inputs"] = structOf(e.Inputs)
	}
	if e.Outputs != nil {
		props["outputs"] = structOf(e.Outputs)
	}
	return &mlpb.Execution{Id: proto.Int64(id[e.Key]), TypeId: t.Id, Type: t.Name, LastKnownState: e.State.Enum(),
		CustomProperties: props, CreateTimeSinceEpoch: millis(e.Created), LastUpdateTimeSinceEpoch: millis(e.Updated)}
}

func artifactProto(a Artifact, id ids, metadata map[string]any) *mlpb.Artifact {
	t := artifactTypeOf(a.Type)
	props := map[string]*mlpb.Value{}
	for k, v := range metadata {
		props[k] = value(v)
	}
	props["display_name"] = str(a.DisplayName)
	return &mlpb.Artifact{Id: proto.Int64(id[a.Key]), TypeId: t.Id, Type: t.Name, Uri: proto.String(a.URI),
		State: mlpb.Artifact_LIVE.Enum(), CustomProperties: props,
		CreateTimeSinceEpoch: millis(a.Created), LastUpdateTimeSinceEpoch: millis(a.Created)}
}

func eventProto(ev Event, id ids) *mlpb.Event {
	return &mlpb.Event{ArtifactId: proto.Int64(id[ev.ArtifactKey]), ExecutionId: proto.Int64(id[ev.ExecutionKey]),
		Type: ev.Type.Enum(), MillisecondsSinceEpoch: millis(ev.Time),
		Path: &mlpb.Event_Path{Steps: []*mlpb.Event_Path_Step{{Value: &mlpb.Event_Path_Step_Key{Key: ev.Name}}}}}
}
