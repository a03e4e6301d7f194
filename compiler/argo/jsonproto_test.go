package argo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// TestSortedJSON: sortedJSON writes what the protojson + encoding/json round
// trip writes, for every component, executor and task of the corpus, whole
// pipeline specs, and strings and numbers at the edges of JSON escaping and
// float formatting.
func TestSortedJSON(t *testing.T) {
	var msgs []proto.Message
	files, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*.yaml")
	more, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*/*.yaml")
	files = append(files, more...)
	if len(files) < 140 {
		t.Fatalf("found %d corpus files", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := spec.Parse(data)
		if err != nil {
			continue
		}
		p, err := kfp.Load(docs)
		if err != nil {
			continue
		}
		msgs = append(msgs, p.Spec, p.Deployment)
		for _, c := range p.Spec.GetComponents() {
			msgs = append(msgs, c)
		}
		for _, e := range p.Deployment.GetExecutors() {
			msgs = append(msgs, e)
		}
		for _, task := range p.Spec.GetRoot().GetDag().GetTasks() {
			msgs = append(msgs, task)
		}
	}
	edge, _ := structpb.NewStruct(map[string]any{
		"html": "<a href='x'>&</a>", "ctl": "\x00\x01\x1f\t\n\r\b\f", "uni": "é😀\u2028\u2029", "bad": "\xff\xfe",
		"nums": []any{0.0, 1.0, -1.5, 1e-7, 1e21, 123456789.0, 1e20, 0.000001, 3.14159}, "nested": map[string]any{"b": true, "n": nil},
	})
	msgs = append(msgs, edge, &pipelinespec.PipelineTaskSpec_RetryPolicy{MaxRetryCount: 3, BackoffFactor: 2.5},
		&pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec_ResourceSpec{CpuLimit: 0.1, MemoryLimit: 1e-8, ResourceCpuLimit: "500m"})
	compared := 0
	for i, m := range msgs {
		got, ok := sortedJSON(m)
		if !ok {
			continue
		}
		compared++
		if diff := cmp.Diff(roundTripJSON(m), got); diff != "" {
			t.Fatalf("message %d (%T) (-round trip +sortedJSON):\n%s", i, m, diff)
		}
	}
	t.Logf("%d of %d messages compared (the others hold a Duration or the like, written by the round trip)", compared, len(msgs))
	if compared*10 < len(msgs)*9 {
		t.Fatalf("only %d of %d messages written by sortedJSON", compared, len(msgs))
	}
}

// TestUsedInputs: usedInputs finds the input placeholders inputPlaceholder
// finds in a container spec's compact JSON, for every container of the
// corpus and for placeholders in every kind of string a container holds
// (command, args, env, resources, a Struct in a map), with either quote,
// quotes JSON escapes (not a match in the JSON, so none) and HTML characters
// (matched as the JSON escapes them).
func TestUsedInputs(t *testing.T) {
	var ctrs []*containerSpec
	files, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*.yaml")
	more, _ := filepath.Glob("../../../shared/kfp-corpus/ir/valid/*/*.yaml")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := spec.Parse(data)
		if err != nil {
			continue
		}
		p, err := kfp.Load(docs)
		if err != nil {
			continue
		}
		for _, e := range p.Deployment.GetExecutors() {
			if e.GetContainer() != nil {
				ctrs = append(ctrs, e.GetContainer())
			}
		}
	}
	ph := func(q, name string) string { return "{{$.inputs.parameters[" + q + name + q + "]}}" }
	ctrs = append(ctrs,
		&containerSpec{Image: ph("'", "img"), Command: []string{"sh", "-c", "echo " + ph("'", "a") + ph(`"`, "b") + " " + ph("'", "a<b&c")},
			Args: []string{ph("'", "c") + "x" + ph("'", "d"), "{{$.inputs.parameters['e'}}", ph("'", `f\g`)},
			Env:  []*pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec_EnvVar{{Name: "N", Value: ph("'", "h")}, {Name: ph("'", "i")}},
			Resources: &pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec_ResourceSpec{
				ResourceCpuLimit: ph("'", "cpu"), Accelerator: &pipelinespec.PipelineDeploymentConfig_PipelineContainerSpec_ResourceSpec_AcceleratorConfig{ResourceType: ph("'", "gpu")}},
		})
	found := 0
	for i, ctr := range ctrs {
		want := map[string]bool{}
		for _, m := range inputPlaceholder.FindAllStringSubmatch(compactJSON(ctr), -1) {
			want[m[1]] = true
		}
		found += len(want)
		if diff := cmp.Diff(want, usedInputs(ctr)); diff != "" {
			t.Fatalf("container %d (-regexp on the JSON +usedInputs):\n%s", i, diff)
		}
	}
	if len(ctrs) < 300 || found < 100 {
		t.Fatalf("only %d containers, %d placeholders compared", len(ctrs), found)
	}
}
