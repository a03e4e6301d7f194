package mlmd

import (
	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
	"google.golang.org/protobuf/proto"
)

// The types kubeline's graphs use, with fixed ids. An artifact whose KFP
// schema title is none of these is a system.Artifact.
var (
	artifactTypes = []*mlpb.ArtifactType{
		artifactType(1, TypeArtifact), artifactType(2, "system.Dataset"), artifactType(3, "system.Model"),
		artifactType(4, "system.Metrics"), artifactType(5, "system.ClassificationMetrics"),
		artifactType(6, "system.SlicedClassificationMetrics"), artifactType(7, "system.HTML"), artifactType(8, "system.Markdown"),
	}
	executionTypes = []*mlpb.ExecutionType{
		{Id: proto.Int64(11), Name: proto.String(TypeContainer)},
		{Id: proto.Int64(12), Name: proto.String(TypeDAG)},
		{Id: proto.Int64(13), Name: proto.String(TypeImporter)},
	}
	contextTypes = []*mlpb.ContextType{
		{Id: proto.Int64(21), Name: proto.String(TypePipelineRun)},
	}
)

func artifactType(id int64, name string) *mlpb.ArtifactType {
	return &mlpb.ArtifactType{Id: proto.Int64(id), Name: proto.String(name), Version: proto.String("0.0.1")}
}

func artifactTypeOf(name string) *mlpb.ArtifactType {
	for _, t := range artifactTypes {
		if t.GetName() == name {
			return t
		}
	}
	return artifactTypes[0]
}

func executionTypeOf(name string) *mlpb.ExecutionType {
	for _, t := range executionTypes {
		if t.GetName() == name {
			return t
		}
	}
	return executionTypes[0]
}
