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
			Title string `xml:"title"`
		} `xml:"polyline"`
	}
	if err := xml.Unmarshal(g.SVG(), &svg); err != nil {
		t.Fatalf("SVG is not XML: %v", err)
	}
	classes := map[string]int{}
	for _, grp := range svg.Groups {
		classes[grp.Class]++
	}
	// Runs hold their tasks; versions are drawn; artifacts name edges.
	want := map[string]int{"node run": len(g.Runs()), "node task": len(g.Of(KindTask)), "node dataset": 1, "node model": 1}
	if d := cmp.Diff(want, classes); d != "" {
		t.Errorf("SVG boxes (-want +got):\n%s", d)
	}
	titles := ""
	for _, l := range svg.Lines {
		titles += l.Title + "\n"
	}
	for _, want := range []string{"dataset:d@v1 → task:r2/r2-1 (artifact artifact)", "task:r2/r2-2 → model:m@v2 (artifact model)"} {
		if !strings.Contains(titles, want) {
			t.Errorf("no edge %q in:\n%s", want, titles)
		}
	}
	// Layers follow the data: the dataset is left of the run, the run of
	// the model; the run's box holds its tasks.
	p := g.Layout()
	x := map[string]Rect{}
	for _, v := range p.Versions {
		x[v.Node.ID] = v.Rect
	}
	for _, r := range p.Runs {
		x[r.Node.ID] = r.Rect
		for _, tk := range r.Tasks {
			if tk.Rect.X < r.Rect.X || tk.Rect.Y < r.Rect.Y || tk.Rect.X+tk.Rect.W > r.Rect.X+r.Rect.W || tk.Rect.Y+tk.Rect.H > r.Rect.Y+r.Rect.H {
				t.Errorf("task %s %+v outside its run's box %+v", tk.Node.ID, tk.Rect, r.Rect)
			}
		}
	}
	if d, r, m := x["dataset:d@v1"], x["run:r2"], x["model:m@v2"]; !(d.X+d.W < r.X && r.X+r.W < m.X) {
		t.Fatalf("dataset %+v, run %+v, model %+v", d, r, m)
	}
}

// TestTree: the text lineage is a tree — version ← task ← its inputs ← their
// producers — each task naming its run by display name and id, the same
// version reached from two runs shown under each (it was a flat list with
// duplicates and no edges).
func TestTree(t *testing.T) {
	g := world()
	up, err := g.Upstream("model:m@v2")
	if err != nil {
		t.Fatal(err)
	}
	want := `model m@v2
├─ made by task train (lr=0.2) in run "train 0.2" (r2) Succeeded
│  ├─ input artifact imported from dataset d@v1
│  └─ input artifact from task importer (uri=dataset://d@v1) in run "train 0.2" (r2) Succeeded
└─ made by task train (lr=0.2) in run "train 0.2" (r3) Succeeded
   ├─ input artifact imported from dataset d@v1
   └─ input artifact from task importer (uri=dataset://d@v1) in run "train 0.2" (r3) Succeeded
`
	if d := cmp.Diff(want, string(up.Tree("model:m@v2", true))); d != "" {
		t.Errorf("upstream tree (-want +got):\n%s", d)
	}
	down, err := g.Downstream("dataset:d@v1")
	if err != nil {
		t.Fatal(err)
	}
	want = `dataset d@v1
├─ imported as artifact, read by task train (lr=0.1) in run "train 0.1" (r1) Succeeded
│  ├─ output model became model m@v1
│  └─ output artifact kubeline/r1/train/metrics
├─ imported as artifact, read by task train (lr=0.2) in run "train 0.2" (r2) Succeeded
│  ├─ output model became model m@v2
│  └─ output artifact kubeline/r2/train/metrics
└─ imported as artifact, read by task train (lr=0.2) in run "train 0.2" (r3) Succeeded
   ├─ output model became model m@v2
   └─ output artifact kubeline/r3/train/metrics
`
	if d := cmp.Diff(want, string(down.Tree("dataset:d@v1", false))); d != "" {
		t.Errorf("downstream tree (-want +got):\n%s", d)
	}
}

// TestSVGBoxesTellRunsApart: what distinguishes runs — their arguments,
// metrics and the versions they made — is written on the boxes, not only
// in tooltips.
func TestSVGBoxesTellRunsApart(t *testing.T) {
	runs := []Run{trainRun("r1", "0.1"), trainRun("r2", "0.2")}
	for i, r := range runs {
		r.Workflow.Spec.Arguments.Parameters = []wfv1.Parameter{{Name: "lr", Value: wfv1.AnyStringPtr(r.Name[len("train "):])}}
		r.Metrics = map[string]float64{"evaluate.accuracy": 0.5 + float64(i)/4}
		runs[i] = r
	}
	g := Build(runs, []Link{
		{Version: Version{KindModel, "m", 1}, RunID: "r1", Key: "kubeline/r1/train/model", Produced: true},
		{Version: Version{KindModel, "m", 2}, RunID: "r2", Key: "kubeline/r2/train/model", Produced: true},
	})
	var doc struct {
		Groups []struct {
			Class string   `xml:"class,attr"`
			Title string   `xml:"title"`
			Texts []string `xml:"text"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(g.SVG(), &doc); err != nil {
		t.Fatal(err)
	}
	boxes := map[string][]string{}
	for _, grp := range doc.Groups {
		if grp.Class == "node run" {
			boxes[grp.Texts[0]] = grp.Texts[1:]
		}
	}
	want := map[string][]string{
		"run train 0.1": {"r1 Succeeded", "lr=0.1", "evaluate.accuracy=0.5", "made m@v1"},
		"run train 0.2": {"r2 Succeeded", "lr=0.2", "evaluate.accuracy=0.75", "made m@v2"},
	}
	if d := cmp.Diff(want, boxes); d != "" {
		t.Errorf("run boxes (-want +got):\n%s", d)
	}
}
