package mlmd

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	mlpb "github.com/kubeflow/pipelines/third_party/ml-metadata/go/ml_metadata"
)

// Run is one run as mlmd reads it: the store's record and its compiled
// Argo Workflow with the status the engine reported.
type Run struct {
	ID, DisplayName, Namespace string
	// PipelineName names the root DAG execution (pipelineInfo.name).
	PipelineName string
	CreatedAt    time.Time
	Workflow     *wfv1.Workflow
	// Spec is the KFP pipeline spec as generic JSON, or nil; it names the
	// tasks Argo only knows as exit hooks.
	Spec map[string]any
	// PodName is the pod name of a step node (the engine's, Argo's v2 names).
	PodName func(wf *wfv1.Workflow, n wfv1.NodeStatus) string
}

// Execution types, artifact types and context types KFP writes.
const (
	TypeContainer   = "system.ContainerExecution"
	TypeDAG         = "system.DAGExecution"
	TypeImporter    = "system.ImporterExecution"
	TypePipelineRun = "system.PipelineRun"
	TypeArtifact    = "system.Artifact"
	// LogsArtifact is the output name of a step's archived log, which the UI
	// reads when it cannot reach the pod.
	LogsArtifact = "executor-logs"
)

// Execution is one KFP task (or DAG, loop, iteration) of a run.
type Execution struct {
	Key, Node             string // Key: "exec/NODE"; Node: the Argo node id
	Type                  string
	State                 mlpb.Execution_State
	TaskName, DisplayName string
	ParentKey             string // the parent DAG execution's key; "" for the root
	PodName               string
	Iteration             *int64 // iteration_index of a loop iteration
	Iterations            *int64 // iteration_count of a loop
	Inputs, Outputs       map[string]any
	Created, Updated      time.Time
}

// Artifact is one artifact a run produced or read.
type Artifact struct {
	Key         string // "art/OBJECTKEY", or "log/NODE" for a step's log
	ObjectKey   string // where the artifact store holds it (its data under /data)
	Type        string
	URI         string
	DisplayName string
	Created     time.Time
}

// Event links an execution and an artifact: INPUT or OUTPUT under Name.
type Event struct {
	ExecutionKey, ArtifactKey, Name string
	Type                            mlpb.Event_Type
	Time                            time.Time
}

// Graph is a run's ML Metadata, keyed by strings.
type Graph struct {
	Run        Run
	Executions []Execution
	Artifacts  []Artifact
	Events     []Event
}

// ContextKey is the key of a run's system.PipelineRun context.
const ContextKey = "ctx"

// Build turns a run into its graph; uri gives an artifact store key's URI.
func Build(run Run, uri func(key string) string) Graph {
	b := builder{run: run, uri: uri, g: Graph{Run: run}, arts: map[string]int{}}
	wf := run.Workflow
	if wf == nil {
		wf = &wfv1.Workflow{}
	}
	b.wf = wf
	b.iterationOf = map[string]string{}
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypeTaskGroup {
			for _, c := range n.Children {
				b.iterationOf[c] = n.ID
			}
		}
	}
	ids := make([]string, 0, len(wf.Status.Nodes))
	for id := range wf.Status.Nodes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, c := wf.Status.Nodes[ids[i]], wf.Status.Nodes[ids[j]]
		if !a.StartedAt.Equal(&c.StartedAt) {
			return a.StartedAt.Before(&c.StartedAt)
		}
		return a.Name < c.Name
	})
	if _, ok := wf.Status.Nodes[b.rootID()]; !ok {
		b.g.Executions = append(b.g.Executions, b.rootExecution(wfv1.NodeStatus{ID: b.rootID(), Phase: wfv1.NodePending}))
	}
	for _, id := range ids {
		b.node(wf.Status.Nodes[id])
	}
	return b.g
}

type builder struct {
	run         Run
	wf          *wfv1.Workflow
	uri         func(string) string
	g           Graph
	arts        map[string]int    // artifact key -> index
	iterationOf map[string]string // loop iteration node -> its TaskGroup
}

func (b *builder) rootID() string {
	if b.wf.Name != "" {
		return b.wf.NodeID(b.wf.Name)
	}
	return "root"
}

func execKey(node string) string { return "exec/" + node }

// kind says what a node is to KFP: "" when it is none of its tasks (a
// wrapper, an internal step, a retry's attempt).
func (b *builder) kind(n wfv1.NodeStatus) string {
	nodes := b.wf.Status.Nodes
	switch {
	case n.ID == b.rootID():
		return "root"
	case n.Type == wfv1.NodeTypeTaskGroup:
		return "loop"
	case n.Type == wfv1.NodeTypeDAG && b.iterationOf[n.ID] != "":
		return "iteration"
	case n.Type == wfv1.NodeTypeDAG:
		if len(n.Children) == 1 {
			if c, ok := nodes[n.Children[0]]; ok && c.Type == wfv1.NodeTypeTaskGroup && c.DisplayName == n.DisplayName {
				return "" // a loop's parallelism wrapper: the TaskGroup is the loop
			}
		}
		return "dag"
	case n.Type == wfv1.NodeTypePod:
		if p, ok := nodes[n.BoundaryID]; ok && p.Type == wfv1.NodeTypeRetry {
			return ""
		}
		if b.isRetryAttempt(n) {
			return ""
		}
		if taskParam(n) == "" {
			return "" // kubeline's own steps (conditions, PVCs)
		}
		return "step"
	case n.Type == wfv1.NodeTypeRetry:
		return "step"
	case n.Type == wfv1.NodeTypeSkipped:
		if t := b.wf.GetTemplateByName(n.TemplateName); t != nil && t.DAG != nil {
			return "dag"
		}
		return "step"
	}
	return ""
}

func (b *builder) isRetryAttempt(n wfv1.NodeStatus) bool {
	for _, p := range b.wf.Status.Nodes {
		if p.Type == wfv1.NodeTypeRetry {
			for _, c := range p.Children {
				if c == n.ID {
					return true
				}
			}
		}
	}
	return false
}

// parent is the key of the DAG execution a node's task belongs to.
func (b *builder) parent(n wfv1.NodeStatus) string {
	nodes := b.wf.Status.Nodes
	id := n.BoundaryID
	if tg := b.iterationOf[n.ID]; tg != "" {
		id = tg
	}
	for seen := 0; id != "" && seen < len(nodes)+1; seen++ {
		p, ok := nodes[id]
		if !ok {
			break
		}
		if k := b.kind(p); k == "root" || k == "loop" || k == "iteration" || k == "dag" {
			return execKey(p.ID)
		}
		next := p.BoundaryID
		if tg := b.iterationOf[p.ID]; tg != "" {
			next = tg
		}
		id = next
	}
	return execKey(b.rootID())
}

func (b *builder) node(n wfv1.NodeStatus) {
	var e Execution
	switch b.kind(n) {
	case "root":
		e = b.rootExecution(n)
	case "loop":
		e = b.execution(n, TypeDAG, n.DisplayName)
		count := int64(len(n.Children))
		e.Iterations = &count
	case "iteration":
		loop := b.wf.Status.Nodes[b.iterationOf[n.ID]]
		e = b.execution(n, TypeDAG, loop.DisplayName)
		e.DisplayName = n.DisplayName
		idx := iterationIndex(n.DisplayName)
		e.Iteration = &idx
	case "dag":
		name := n.DisplayName
		if handler, ok := strings.CutSuffix(n.DisplayName, ".onExit"); ok {
			name = exitTask(b.run.Spec, handler, n.TemplateName)
		}
		e = b.execution(n, TypeDAG, name)
	case "step":
		e = b.step(n)
	default:
		return
	}
	b.g.Executions = append(b.g.Executions, e)
}

func (b *builder) rootExecution(n wfv1.NodeStatus) Execution {
	e := b.execution(n, TypeDAG, "")
	e.ParentKey = ""
	e.DisplayName = b.run.PipelineName
	e.Inputs = map[string]any{}
	for _, p := range b.wf.Spec.Arguments.Parameters {
		if p.Value != nil {
			e.Inputs[p.Name] = p.Value.String()
		}
	}
	return e
}

func (b *builder) execution(n wfv1.NodeStatus, typ, task string) Execution {
	e := Execution{Key: execKey(n.ID), Node: n.ID, Type: typ, State: state(n.Phase), TaskName: task, DisplayName: task,
		ParentKey: b.parent(n), Created: n.StartedAt.Time, Updated: n.FinishedAt.Time}
	if e.Created.IsZero() {
		e.Created = b.run.CreatedAt
	}
	if e.Updated.IsZero() {
		e.Updated = e.Created
	}
	if n.MemoizationStatus != nil && n.MemoizationStatus.Hit && n.Phase == wfv1.NodeSucceeded {
		e.State = mlpb.Execution_CACHED
	}
	e.Inputs, e.Outputs = inParams(n.Inputs, nil), outParams(n.Outputs, nil)
	b.artifacts(e, n, nil)
	return e
}

// step is a container (or importer) task; a retried one is its Retry
// node, whose newest attempt ran the pod.
func (b *builder) step(n wfv1.NodeStatus) Execution {
	pod := n
	if n.Type == wfv1.NodeTypeRetry && len(n.Children) > 0 {
		if last, ok := b.wf.Status.Nodes[n.Children[len(n.Children)-1]]; ok {
			pod = last
		}
	}
	task := taskParam(pod)
	if task == "" {
		task = n.DisplayName
	}
	typ, comp := TypeContainer, component{}
	if t := b.wf.GetTemplateByName(pod.TemplateName); t != nil && t.Container != nil {
		comp = componentOf(t.Container.Args)
		if slicesContains(t.Container.Args, "--importer") {
			typ = TypeImporter
		}
	}
	e := Execution{Key: execKey(n.ID), Node: n.ID, Type: typ, State: state(n.Phase), TaskName: task, DisplayName: task,
		ParentKey: b.parent(n), Created: n.StartedAt.Time, Updated: n.FinishedAt.Time}
	if e.Created.IsZero() {
		e.Created = b.run.CreatedAt
	}
	if e.Updated.IsZero() {
		e.Updated = e.Created
	}
	if pod.MemoizationStatus != nil && pod.MemoizationStatus.Hit && n.Phase == wfv1.NodeSucceeded {
		e.State = mlpb.Execution_CACHED
	}
	if pod.Type == wfv1.NodeTypePod && b.run.PodName != nil {
		e.PodName = b.run.PodName(b.wf, pod)
	}
	e.Inputs, e.Outputs = inParams(pod.Inputs, comp.Inputs), outParams(pod.Outputs, comp.Outputs)
	b.artifacts(e, pod, &comp)
	if e.PodName != "" && pod.Phase.Fulfilled(nil) && pod.Phase != wfv1.NodeSkipped && pod.Phase != wfv1.NodeOmitted {
		b.link(e, Artifact{Key: "log/" + n.ID, ObjectKey: fmt.Sprintf("kubeline/%s/%s/main.log", b.wf.Name, e.PodName),
			Type: TypeArtifact, DisplayName: LogsArtifact, Created: e.Updated}, LogsArtifact, mlpb.Event_OUTPUT, "")
	}
	return e
}

// artifacts records a node's input and output artifacts and their events.
func (b *builder) artifacts(e Execution, n wfv1.NodeStatus, comp *component) {
	if n.Inputs != nil {
		for _, a := range n.Inputs.Artifacts {
			if a.S3 == nil || a.S3.Key == "" {
				continue
			}
			typ := ""
			if comp != nil {
				typ = comp.InputArtifacts[a.Name]
			}
			b.link(e, Artifact{Key: "art/" + a.S3.Key, ObjectKey: a.S3.Key, Type: typ, DisplayName: a.Name, Created: e.Created},
				a.Name, mlpb.Event_INPUT, "/data")
		}
	}
	if n.Outputs != nil {
		for _, a := range n.Outputs.Artifacts {
			if a.S3 == nil || a.S3.Key == "" {
				continue
			}
			typ := ""
			if comp != nil {
				typ = comp.OutputArtifacts[a.Name]
			}
			b.link(e, Artifact{Key: "art/" + a.S3.Key, ObjectKey: a.S3.Key, Type: typ, DisplayName: a.Name, Created: e.Updated},
				a.Name, mlpb.Event_OUTPUT, "/data")
		}
	}
}

// link adds an artifact (once) and its event; suffix is appended to the
// object key in the artifact's URI (a step's data is under KEY/data).
func (b *builder) link(e Execution, a Artifact, name string, typ mlpb.Event_Type, suffix string) {
	i, ok := b.arts[a.Key]
	if !ok {
		if b.uri != nil {
			a.URI = b.uri(a.ObjectKey + suffix)
		}
		b.arts[a.Key] = len(b.g.Artifacts)
		b.g.Artifacts = append(b.g.Artifacts, a)
		i = len(b.g.Artifacts) - 1
	}
	if b.g.Artifacts[i].Type == "" || (typ == mlpb.Event_OUTPUT && a.Type != "") {
		b.g.Artifacts[i].Type = a.Type
	}
	if b.g.Artifacts[i].Type == "" {
		b.g.Artifacts[i].Type = TypeArtifact
	}
	if typ == mlpb.Event_OUTPUT {
		b.g.Artifacts[i].DisplayName = a.DisplayName
	}
	t := e.Updated
	if typ == mlpb.Event_INPUT {
		t = e.Created
	}
	b.g.Events = append(b.g.Events, Event{ExecutionKey: e.Key, ArtifactKey: a.Key, Name: name, Type: typ, Time: t})
}

// state maps an Argo node phase to MLMD's execution state (a skipped or
// omitted task is CANCELED, as KFP records a task that did not trigger).
func state(p wfv1.NodePhase) mlpb.Execution_State {
	switch p {
	case wfv1.NodeSucceeded:
		return mlpb.Execution_COMPLETE
	case wfv1.NodeFailed, wfv1.NodeError:
		return mlpb.Execution_FAILED
	case wfv1.NodeRunning:
		return mlpb.Execution_RUNNING
	case wfv1.NodeSkipped, wfv1.NodeOmitted:
		return mlpb.Execution_CANCELED
	}
	return mlpb.Execution_NEW
}

func taskParam(n wfv1.NodeStatus) string {
	if n.Inputs == nil {
		return ""
	}
	for _, p := range n.Inputs.Parameters {
		if p.Name == "kubeline-task" && p.Value != nil {
			return p.Value.String()
		}
	}
	return ""
}

// iterationIndex reads I from an iteration's display name "LOOP(I:VALUE)".
func iterationIndex(display string) int64 {
	_, rest, ok := strings.Cut(display, "(")
	if !ok {
		return 0
	}
	i, _, _ := strings.Cut(rest, ":")
	n, _ := strconv.ParseInt(i, 10, 64)
	return n
}

// component is a step's KFP interface, from the --component argument the
// compiler gives kubeline launch: parameter types and artifact types.
type component struct {
	Inputs, Outputs                 map[string]string // parameter -> parameterType
	InputArtifacts, OutputArtifacts map[string]string // artifact -> schemaTitle
}

func componentOf(args []string) component {
	c := component{}
	for i, a := range args {
		if a == "--" {
			break
		}
		if a != "--component" || i+1 >= len(args) {
			continue
		}
		var spec struct {
			InputDefinitions, OutputDefinitions struct {
				Parameters map[string]struct {
					ParameterType string `json:"parameterType"`
				} `json:"parameters"`
				Artifacts map[string]struct {
					ArtifactType struct {
						SchemaTitle string `json:"schemaTitle"`
					} `json:"artifactType"`
				} `json:"artifacts"`
			}
		}
		if json.Unmarshal([]byte(args[i+1]), &spec) != nil {
			return c
		}
		c.Inputs, c.Outputs = map[string]string{}, map[string]string{}
		c.InputArtifacts, c.OutputArtifacts = map[string]string{}, map[string]string{}
		for n, p := range spec.InputDefinitions.Parameters {
			c.Inputs[n] = p.ParameterType
		}
		for n, p := range spec.OutputDefinitions.Parameters {
			c.Outputs[n] = p.ParameterType
		}
		for n, a := range spec.InputDefinitions.Artifacts {
			c.InputArtifacts[n] = a.ArtifactType.SchemaTitle
		}
		for n, a := range spec.OutputDefinitions.Artifacts {
			c.OutputArtifacts[n] = a.ArtifactType.SchemaTitle
		}
	}
	return c
}

// inParams and outParams render a node's parameters as KFP's inputs/outputs struct: typed
// by the component interface when known (STRING raw, other types JSON),
// kubeline's own parameters (kubeline-*) and artifact descriptors left out.
func inParams(in *wfv1.Inputs, types map[string]string) map[string]any {
	if in == nil {
		return nil
	}
	return paramValues(in.Parameters, types)
}

func outParams(out *wfv1.Outputs, types map[string]string) map[string]any {
	if out == nil {
		return nil
	}
	return paramValues(out.Parameters, types)
}

func paramValues(ps []wfv1.Parameter, types map[string]string) map[string]any {
	out := map[string]any{}
	for _, p := range ps {
		if p.Value == nil || strings.HasPrefix(p.Name, "kubeline-") {
			continue
		}
		typ, known := types[p.Name]
		if types != nil && !known {
			continue // not a parameter of the component (a descriptor, a loop item)
		}
		out[p.Name] = typedValue(p.Value.String(), typ)
	}
	return out
}

func typedValue(v, typ string) any {
	if typ == "" || typ == "STRING" {
		return v
	}
	var x any
	if json.Unmarshal([]byte(v), &x) == nil {
		return x
	}
	return v
}

// exitTask finds the task that is the exit task of exit handler handler:
// the task of the spec whose only dependency is the handler and that runs
// whatever it ends with (ALL_UPSTREAM_TASKS_COMPLETED). fallback otherwise.
func exitTask(spec map[string]any, handler, fallback string) string {
	var dags []map[string]any
	if root, ok := spec["root"].(map[string]any); ok {
		dags = append(dags, root)
	}
	comps, _ := spec["components"].(map[string]any)
	for _, c := range comps {
		if m, ok := c.(map[string]any); ok {
			dags = append(dags, m)
		}
	}
	for _, c := range dags {
		dag, _ := c["dag"].(map[string]any)
		tasks, _ := dag["tasks"].(map[string]any)
		for name, t := range tasks {
			task, _ := t.(map[string]any)
			deps, _ := task["dependentTasks"].([]any)
			trigger, _ := task["triggerPolicy"].(map[string]any)
			if len(deps) == 1 && deps[0] == handler && trigger["strategy"] == "ALL_UPSTREAM_TASKS_COMPLETED" {
				return name
			}
		}
	}
	return fallback
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
