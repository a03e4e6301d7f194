package compiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	yamlv2 "go.yaml.in/yaml/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestStructTreeMatchesJSON: the tree structTree builds from a workflow's Go
// values is the tree yamlTree reads from its JSON, and both write the same
// YAML, for every workflow the corpus, the examples and the other document
// kinds compile to, and for a workflow of values at the edges of the JSON
// rules (invalid UTF-8, embedded structs, Marshaler and TextMarshaler types,
// floats, empty and nil collections, nil map values, big unsigned numbers).
func TestStructTreeMatchesJSON(t *testing.T) {
	wfs := testWorkflows(t)
	for i, wf := range wfs {
		got, ok := structTree(wf)
		if !ok {
			t.Fatalf("workflow %d (%s): structTree gave up", i, wf.GenerateName)
		}
		b, err := json.Marshal(wf)
		if err != nil {
			t.Fatal(err)
		}
		want, err := yamlTree(b)
		if err != nil {
			t.Fatal(err)
		}
		if !sameTree(want, got) { // cmp.Diff on every tree takes a minute
			t.Fatalf("workflow %d (%s) (-yamlTree of the JSON +structTree):\n%s", i, wf.GenerateName, cmp.Diff(want, got, cmpopts.EquateEmpty()))
		}
		wantYAML, _ := writeYAML(want, 0)
		gotYAML, _ := writeYAML(got, 0)
		if diff := cmp.Diff(string(wantYAML), string(gotYAML)); diff != "" {
			t.Fatalf("workflow %d (%s) YAML (-from the JSON +from structTree):\n%s", i, wf.GenerateName, diff)
		}
	}
}

// testWorkflows are the workflows the corpus, the examples and the other
// document kinds compile to, and edgeWorkflow.
func testWorkflows(t *testing.T) []*wfv1.Workflow {
	var wfs []*wfv1.Workflow
	files := corpusFiles(t)
	for _, pattern := range []string{"../examples/*/*.yaml", "deploy/testdata/*.yaml", "imagebuild/testdata/*.yaml", "testdata/*.yaml"} {
		more, _ := filepath.Glob(pattern)
		files = append(files, more...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := Compile(filepath.Base(f), data, Options{BaseDir: filepath.Dir(f)})
		if err == nil {
			wfs = append(wfs, wf)
		}
	}
	if len(wfs) < 150 {
		t.Fatalf("only %d workflows compiled", len(wfs))
	}
	return append(wfs, edgeWorkflow())
}

// TestTreeArena: a tree built in an arena beside other trees and after
// trees it released is the tree built without one and writes the same
// YAML; a released arena holds no value of the trees cut from it.
func TestTreeArena(t *testing.T) {
	arena := &treeArena{}
	for i, wf := range testWorkflows(t) {
		want, _ := structTree(wf)
		got, ok := buildTree(wf, arena)
		if !ok || !sameTree(want, got) {
			t.Fatalf("workflow %d (%s): the arena's tree differs (ok %v):\n%s", i, wf.GenerateName, ok, cmp.Diff(want, got, cmpopts.EquateEmpty()))
		}
		wantYAML, _ := writeYAML(want, 0)
		gotYAML, _ := writeYAML(got, 0)
		if string(wantYAML) != string(gotYAML) {
			t.Fatalf("workflow %d (%s): the arena's YAML differs:\n%s", i, wf.GenerateName, cmp.Diff(string(wantYAML), string(gotYAML)))
		}
		if i%10 != 9 {
			continue // several trees at a time: they span chunks
		}
		arena.items.reset()
		arena.anys.reset()
		for _, c := range arena.items.list {
			for j := range c {
				if c[j] != (yamlv2.MapItem{}) {
					t.Fatalf("workflow %d: item %d of a released arena holds %v", i, j, c[j])
				}
			}
		}
		for _, c := range arena.anys.list {
			for j := range c {
				if c[j] != nil {
					t.Fatalf("workflow %d: element %d of a released arena holds %v", i, j, c[j])
				}
			}
		}
	}
	if len(arena.items.list) < 2 || len(arena.anys.list) < 1 {
		t.Errorf("the trees took %d item chunks and %d list chunks: the test should span chunks", len(arena.items.list), len(arena.anys.list))
	}
}

func edgeWorkflow() *wfv1.Workflow {
	factor := intstr.FromString("2")
	limit := intstr.FromInt32(3)
	return &wfv1.Workflow{
		TypeMeta: metav1.TypeMeta{Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{Name: "bad-\xff-utf8", Labels: map[string]string{"b": "", "a\xfe": "x", "a10": "1", "a2": "2"},
			Annotations: map[string]string{}, CreationTimestamp: metav1.Now(), Generation: 1 << 40},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "<main>&", Arguments: wfv1.Arguments{Parameters: []wfv1.Parameter{
				{Name: "p", Value: wfv1.AnyStringPtr("v\xff"), Enum: []wfv1.AnyString{}, Default: wfv1.AnyStringPtr("")},
				{Name: "", Value: wfv1.AnyStringPtr("1.5")}}},
			Templates: []wfv1.Template{{
				Name: "main", Inputs: wfv1.Inputs{}, Outputs: wfv1.Outputs{Parameters: nil},
				RetryStrategy: &wfv1.RetryStrategy{Limit: &limit, Backoff: &wfv1.Backoff{Factor: &factor, Duration: "1s"}},
				Container: &corev1.Container{Name: "c", Args: []string{}, Command: nil,
					Resources:       corev1.ResourceRequirements{Limits: corev1.ResourceList{"cpu": resource.MustParse("500m"), "nvidia.com/gpu": resource.MustParse("1")}},
					SecurityContext: &corev1.SecurityContext{RunAsUser: ptrTo(int64(-1)), Privileged: ptrTo(false)}},
				Metadata:              wfv1.Metadata{Annotations: map[string]string{"k": "v"}},
				ActiveDeadlineSeconds: ptrTo(intstr.FromString("{{x}}")),
			}, {Name: "steps", Steps: []wfv1.ParallelSteps{{Steps: []wfv1.WorkflowStep{{Name: "s", Template: "main",
				WithItems: []wfv1.Item{item(`{"a":1.5,"b":[1,2],"c":null}`), item(`"x"`)}}}}}}},
			Parallelism: ptrTo(int64(1)),
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

func item(s string) wfv1.Item {
	it, err := wfv1.ParseItem(s)
	if err != nil {
		panic(err)
	}
	return it
}

// sameTree compares two YAML trees, an empty mapping equal to a nil one.
func sameTree(a, b any) bool {
	switch x := a.(type) {
	case yamlv2.MapSlice:
		y, ok := b.(yamlv2.MapSlice)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].Key != y[i].Key || !sameTree(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameTree(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}
