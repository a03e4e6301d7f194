package lineage

import (
	"encoding/xml"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
)

// trainRun is a run as the engines record it: an importer step writes the
// imported dataset, train reads it with a learning rate and writes a model.
func trainRun(id, lr string) Run {
	key := func(pod, name string) wfv1.Artifact {
		return wfv1.Artifact{Name: name, ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "kubeline/" + id + "/" + pod + "/" + name}}}
	}
	param := func(n, v string) wfv1.Parameter { return wfv1.Parameter{Name: n, Value: wfv1.AnyStringPtr(v)} }
	wf := &wfv1.Workflow{Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, Nodes: wfv1.Nodes{
		id: {ID: id, Type: wfv1.NodeTypeDAG, DisplayName: id},
		id + "-1": {ID: id + "-1", Type: wfv1.NodeTypePod, DisplayName: "importer", Phase: wfv1.NodeSucceeded,
			Inputs:  &wfv1.Inputs{Parameters: []wfv1.Parameter{param(TaskParam, "importer"), param("uri", "dataset://d@v1")}},
			Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{key("imp", "artifact")}}},
		id + "-2": {ID: id + "-2", Type: wfv1.NodeTypePod, DisplayName: "train", Phase: wfv1.NodeSucceeded,
			Inputs:  &wfv1.Inputs{Parameters: []wfv1.Parameter{param(TaskParam, "train"), param("lr", lr)}, Artifacts: []wfv1.Artifact{key("imp", "artifact")}},
			Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{key("train", "model"), key("train", "metrics")}}},
	}}}
	return Run{ID: id, Name: "train " + lr, Workflow: wf}
}

func world() *Graph {
	d1 := Version{KindDataset, "d", 1}
	raw := Version{KindDataset, "raw", 1}
	return Build([]Run{trainRun("r1", "0.1"), trainRun("r2", "0.2"), trainRun("r3", "0.2")}, []Link{
		{Version: raw, RunID: "", Key: "uploads/raw"},
		{Version: d1, RunID: "r1", Key: "kubeline/r1/imp/artifact"},
		{Version: d1, RunID: "r2", Key: "kubeline/r2/imp/artifact"},
		{Version: d1, RunID: "r3", Key: "kubeline/r3/imp/artifact"},
		{Version: Version{KindModel, "m", 1}, RunID: "r1", Key: "kubeline/r1/train/model", Produced: true},
		{Version: Version{KindModel, "m", 2}, RunID: "r2", Key: "kubeline/r2/train/model", Produced: true},
		// r3 trained the same model as r2: its content is m@v2 again.
		{Version: Version{KindModel, "m", 2}, RunID: "r3", Key: "kubeline/r3/train/model", Produced: true},
	})
}

func ids(ns []Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

func TestUpstreamOfAModel(t *testing.T) {
	up, err := world().Upstream("model:m@v1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"dataset:d@v1"}, ids(up.Of(KindDataset))); d != "" {
		t.Fatalf("datasets: %s", d)
	}
	if d := cmp.Diff([]string{"run:r1"}, ids(up.Runs())); d != "" {
		t.Fatalf("runs: %s", d)
	}
	tasks := up.Of(KindTask)
	if len(tasks) != 2 {
		t.Fatalf("tasks %v", ids(tasks))
	}
	for _, task := range tasks {
		if task.Label == "train" && task.Params["lr"] != "0.1" {
			t.Fatalf("train's parameters %v", task.Params)
		}
	}
	if _, ok := up.Node("model:m@v2"); ok {
		t.Fatal("m@v2 is not upstream of m@v1")
	}
	// m@v2 came from two runs with the same content.
	up2, _ := world().Upstream("model:m@v2")
	if d := cmp.Diff([]string{"run:r2", "run:r3"}, ids(up2.Runs())); d != "" {
		t.Fatal(d)
	}
}

func TestDownstreamOfADataset(t *testing.T) {
	down, err := world().Downstream("dataset:d@v1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"run:r1", "run:r2", "run:r3"}, ids(down.Runs())); d != "" {
		t.Fatalf("runs: %s", d)
	}
	if d := cmp.Diff([]string{"model:m@v1", "model:m@v2"}, ids(down.Of(KindModel))); d != "" {
		t.Fatalf("models: %s", d)
	}
	if _, ok := down.Node("dataset:raw@v1"); ok {
		t.Fatal("an unrelated dataset is downstream")
	}
	if _, err := world().Downstream("dataset:nope@v1"); err == nil {
		t.Fatal("an unknown version was accepted")
	}
}

func TestRender(t *testing.T) {
	g, _ := world().Upstream("model:m@v2")
	dot := string(g.DOT())
	for _, want := range []string{`"dataset:d@v1" -> "artifact:kubeline/r2/imp/artifact" [label="used"]`, `lr=0.2`, `shape=cylinder`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
	var svg struct {
		Groups []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"g"`
		Lines []struct {
			Class string `xml:"class,attr"`
		} `xml:"line"`
	}
	if err := xml.Unmarshal(g.SVG(), &svg); err != nil {
		t.Fatalf("SVG is not XML: %v", err)
	}
	if len(svg.Groups) != len(g.Nodes) || len(svg.Lines) != len(g.Edges) {
		t.Fatalf("SVG has %d nodes and %d edges, the graph %d and %d", len(svg.Groups), len(svg.Lines), len(g.Nodes), len(g.Edges))
	}
	// Columns follow the data: the dataset is left of the model.
	layer := g.layers()
	if !(layer["dataset:d@v1"] < layer["task:r2/r2-2"] && layer["task:r2/r2-2"] < layer["model:m@v2"]) {
		t.Fatalf("layers %v", layer)
	}
}
