package argo

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// scope is what a DAG template's tasks can reference.
type scope struct {
	comp     string                      // component name
	spec     *pipelinespec.ComponentSpec // the DAG component
	path     string                      // spec path of the component
	root     bool                        // the root DAG: inputs are workflow parameters
	params   map[string]bool             // input parameters the caller passes
	arts     map[string]bool             // input artifacts the caller passes
	rootRefs map[string]string           // input parameter -> root parameter it is bound to
}

// paramRef is an Argo reference to a DAG input parameter.
func (s *scope) paramRef(name string) string {
	if s.root {
		return "{{workflow.parameters." + name + "}}"
	}
	return "{{inputs.parameters." + name + "}}"
}

// dagTemplate compiles the DAG component of s into a dag template and returns
// the template's name. A DAG called with the same inputs is compiled once.
func (c *compiler) dagTemplate(compName string, comp *pipelinespec.ComponentSpec, path string) string {
	s := &scope{comp: compName, spec: comp, path: path, root: true,
		params: map[string]bool{}, arts: map[string]bool{}, rootRefs: map[string]string{}}
	for _, prm := range c.wf.Spec.Arguments.Parameters {
		s.params[prm.Name] = true
		s.rootRefs[prm.Name] = prm.Name
	}
	for _, art := range c.wf.Spec.Arguments.Artifacts {
		s.arts[art.Name] = true
	}
	tmpl := c.dagBody(s)
	for _, art := range c.wf.Spec.Arguments.Artifacts {
		tmpl.Inputs.Artifacts = append(tmpl.Inputs.Artifacts, wfv1.Artifact{Name: art.Name, Optional: art.Optional})
	}
	tmpl.Name = kfp.RootName
	c.wf.Spec.Templates[0] = tmpl // kept for the root by Compile
	return kfp.RootName
}

// subDAG compiles a DAG component called with the given inputs.
func (c *compiler) subDAG(s *scope) string {
	tmpl := c.dagBody(s)
	for _, name := range sortedKeys(s.params) {
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
	}
	for _, name := range sortedKeys(s.arts) {
		tmpl.Inputs.Artifacts = append(tmpl.Inputs.Artifacts, wfv1.Artifact{Name: name,
			Optional: s.spec.GetInputDefinitions().GetArtifacts()[name].GetIsOptional()})
	}
	return c.addShared(s.comp, tmpl)
}

func (c *compiler) dagBody(s *scope) wfv1.Template {
	d := c.p.DAGs[s.comp]
	tmpl := wfv1.Template{DAG: &wfv1.DAGTemplate{}}
	exits := exitTasks(d)
	hooks := map[string]wfv1.DAGTask{}
	for _, tn := range d.Order {
		for _, task := range c.task(s, d, tn) {
			if body, ok := exits[tn]; ok && task.Name == tn {
				hooks[body] = task
				continue
			}
			tmpl.DAG.Tasks = append(tmpl.DAG.Tasks, task)
		}
	}
	for i, task := range tmpl.DAG.Tasks {
		if exit, ok := hooks[task.Name]; ok {
			tmpl.DAG.Tasks[i].Hooks = wfv1.LifecycleHooks{wfv1.ExitLifecycleEvent: wfv1.LifecycleHook{
				Template: exit.Template, Arguments: exit.Arguments}}
		}
	}
	c.dagOutputs(s, &tmpl)
	return tmpl
}

// exitTasks finds dsl.ExitHandler exit tasks: a task that runs after all
// upstream tasks complete, depends only on an exit-handler DAG, and that no
// task depends on. It becomes that DAG task's Argo exit hook, so the exit
// task runs whatever happens to the body and the body's failure still fails
// the run, as in KFP. Returns exit task -> exit-handler task.
func exitTasks(d *kfp.DAG) map[string]string {
	used := map[string]bool{}
	for _, deps := range d.Deps {
		for _, dep := range deps {
			used[dep] = true
		}
	}
	out := map[string]string{}
	for _, tn := range d.Order {
		t := d.Task(tn)
		deps := d.Deps[tn]
		if t.GetTriggerPolicy().GetStrategy() != pipelinespec.PipelineTaskSpec_TriggerPolicy_ALL_UPSTREAM_TASKS_COMPLETED ||
			len(deps) != 1 || used[tn] || t.GetParameterIterator() != nil || t.GetTriggerPolicy().GetCondition() != "" {
			continue
		}
		body := d.Task(deps[0])
		if strings.HasPrefix(body.GetComponentRef().GetName(), "comp-exit-handler") {
			out[tn] = deps[0]
		}
	}
	return out
}

// task compiles one KFP task of the DAG in s.
func (c *compiler) task(s *scope, d *kfp.DAG, tn string) []wfv1.DAGTask {
	t := d.Task(tn)
	path := spec.Named(s.path+".dag.tasks", tn)
	comp := c.p.Spec.GetComponents()[t.GetComponentRef().GetName()]
	if t.GetArtifactIterator() != nil {
		c.errs.Add(path+".artifactIterator", nil, "ParallelFor over artifacts is %w", spec.ErrUnsupported)
		return nil
	}
	a := c.taskArgs(s, t, comp, path)
	task := wfv1.DAGTask{Name: tn, Depends: depends(t, d.Deps[tn])}
	var gate []wfv1.DAGTask
	if cond := t.GetTriggerPolicy().GetCondition(); cond != "" {
		when, err := c.condition(s, t, cond)
		switch {
		case errors.Is(err, errMixedScope):
			gate = append(gate, c.conditionStep(s, t, tn, cond, task.Depends))
			task.Depends = gate[0].Name
			task.When = fmt.Sprintf("{{tasks.%s.outputs.parameters.result}} == true", gate[0].Name)
		case err != nil:
			c.errs.AddErr(path+".triggerPolicy.condition", nil, err)
		default:
			task.When = when
		}
	}
	if it := t.GetParameterIterator(); it != nil {
		switch items := it.GetItems().GetKind().(type) {
		case *pipelinespec.ParameterIteratorSpec_ItemsSpec_Raw:
			var err error
			task.WithItems, err = rawItems(items.Raw)
			if err != nil {
				c.errs.AddErr(path+".parameterIterator.items.raw", nil, err)
			}
		case *pipelinespec.ParameterIteratorSpec_ItemsSpec_InputParameter:
			task.WithParam = a.params[items.InputParameter]
		}
		a.params[it.GetItemInput()] = "{{item}}"
		a.present[it.GetItemInput()] = true
	}
	switch {
	case comp.GetDag() != nil:
		task.Template = c.callDAG(t, comp, a)
	default:
		task.Template = c.execTemplate(s, t, comp, a, path)
	}
	task.Arguments = a.arguments()
	if lim := t.GetIteratorPolicy().GetParallelismLimit(); lim > 0 && (task.WithItems != nil || task.WithParam != "") {
		task = c.limitParallelism(task, lim)
	}
	return append(gate, task)
}

// depends renders the task's dependencies as an Argo depends expression.
func depends(t *pipelinespec.PipelineTaskSpec, deps []string) string {
	all := t.GetTriggerPolicy().GetStrategy() == pipelinespec.PipelineTaskSpec_TriggerPolicy_ALL_UPSTREAM_TASKS_COMPLETED
	parts := make([]string, len(deps))
	for i, d := range deps {
		if all {
			parts[i] = fmt.Sprintf("(%s.Succeeded || %s.Failed || %s.Errored)", d, d, d)
		} else {
			parts[i] = d
		}
	}
	return strings.Join(parts, " && ")
}

func rawItems(raw string) ([]wfv1.Item, error) {
	var items []wfv1.Item
	if err := jsonUnmarshal([]byte(raw), &items); err != nil {
		return nil, fmt.Errorf("expected a JSON list: %w", err)
	}
	return items, nil
}

// callDAG returns the template of a DAG component called with a's inputs.
func (c *compiler) callDAG(t *pipelinespec.PipelineTaskSpec, comp *pipelinespec.ComponentSpec, a *taskArgs) string {
	sub := &scope{comp: t.GetComponentRef().GetName(), spec: comp, path: spec.Named("components", t.GetComponentRef().GetName()),
		params: map[string]bool{}, arts: map[string]bool{}, rootRefs: map[string]string{}}
	defs := comp.GetInputDefinitions()
	for name := range a.present {
		art, isDesc := strings.CutSuffix(name, ArtifactSuffix)
		_, declaredArt := defs.GetArtifacts()[art]
		if _, declared := defs.GetParameters()[name]; !declared && !(isDesc && declaredArt && a.described[art]) {
			delete(a.params, name)
			delete(a.present, name)
			continue
		}
		sub.params[name] = true
		if root, ok := strings.CutPrefix(a.params[name], "{{workflow.parameters."); ok && strings.Count(a.params[name], "{{") == 1 && strings.HasSuffix(root, "}}") {
			sub.rootRefs[name] = strings.TrimSuffix(root, "}}")
		}
	}
	// An input the caller leaves out takes the component's default, as the
	// KFP driver gives it: the DAG's tasks see it like a passed value.
	for _, name := range sortedKeys(defs.GetParameters()) {
		def := defs.GetParameters()[name]
		if a.present[name] || def.GetDefaultValue() == nil {
			continue
		}
		a.params[name], a.present[name] = encodeValue(def.GetDefaultValue(), def.GetParameterType()), true
		sub.params[name] = true
	}
	for name := range a.artifacts {
		if _, declared := defs.GetArtifacts()[name]; !declared {
			delete(a.artifacts, name)
			continue
		}
		sub.arts[name] = true
	}
	return c.subDAG(sub)
}

// limitParallelism moves a loop task into a wrapper dag template whose
// parallelism is the KFP parallelismLimit, so at most lim iterations run at once.
func (c *compiler) limitParallelism(task wfv1.DAGTask, lim int32) wfv1.DAGTask {
	inner := task
	inner.Depends, inner.When = "", ""
	wrapper := wfv1.Template{Parallelism: ptr(int64(lim)), DAG: &wfv1.DAGTemplate{}}
	outer := wfv1.DAGTask{Name: task.Name, Depends: task.Depends, When: task.When}
	// Every argument of the loop task becomes an input of the wrapper, so the
	// wrapper template is shared by loops with the same body and limit.
	inner.WithParam = rebind(task.WithParam, "loop-items")
	if task.WithParam != "" {
		wrapper.Inputs.Parameters = append(wrapper.Inputs.Parameters, wfv1.Parameter{Name: "loop-items"})
		outer.Arguments.Parameters = append(outer.Arguments.Parameters, wfv1.Parameter{Name: "loop-items", Value: wfv1.AnyStringPtr(task.WithParam)})
	}
	inner.Arguments = wfv1.Arguments{}
	for _, prm := range task.Arguments.Parameters {
		if prm.Value.String() == "{{item}}" || strings.Contains(prm.Value.String(), "{{item") {
			inner.Arguments.Parameters = append(inner.Arguments.Parameters, prm)
			continue
		}
		wrapper.Inputs.Parameters = append(wrapper.Inputs.Parameters, wfv1.Parameter{Name: prm.Name})
		inner.Arguments.Parameters = append(inner.Arguments.Parameters, wfv1.Parameter{Name: prm.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + prm.Name + "}}")})
		outer.Arguments.Parameters = append(outer.Arguments.Parameters, prm)
	}
	for _, art := range task.Arguments.Artifacts {
		wrapper.Inputs.Artifacts = append(wrapper.Inputs.Artifacts, wfv1.Artifact{Name: art.Name})
		inner.Arguments.Artifacts = append(inner.Arguments.Artifacts, wfv1.Artifact{Name: art.Name, From: "{{inputs.artifacts." + art.Name + "}}"})
		outer.Arguments.Artifacts = append(outer.Arguments.Artifacts, art)
	}
	wrapper.DAG.Tasks = []wfv1.DAGTask{inner}
	if t := c.templateByName(task.Template); t != nil {
		for _, o := range t.Outputs.Parameters {
			wrapper.Outputs.Parameters = append(wrapper.Outputs.Parameters, wfv1.Parameter{Name: o.Name,
				ValueFrom: &wfv1.ValueFrom{Parameter: fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", inner.Name, o.Name)}})
		}
	}
	outer.Template = c.addShared(fmt.Sprintf("%s-parallel-%d", task.Template, lim), wrapper)
	return outer
}

func rebind(withParam, name string) string {
	if withParam == "" {
		return ""
	}
	return "{{inputs.parameters." + name + "}}"
}

func (c *compiler) templateByName(name string) *wfv1.Template {
	for i := range c.wf.Spec.Templates {
		if c.wf.Spec.Templates[i].Name == name {
			return &c.wf.Spec.Templates[i]
		}
	}
	return nil
}

// dagOutputs maps the DAG component's outputs onto its subtasks' outputs.
func (c *compiler) dagOutputs(s *scope, tmpl *wfv1.Template) {
	outs := s.spec.GetDag().GetOutputs()
	for _, name := range sortedKeys(outs.GetParameters()) {
		o := outs.GetParameters()[name]
		vf := &wfv1.ValueFrom{}
		if sel := o.GetValueFromParameter(); sel != nil {
			vf.Parameter = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", sel.GetProducerSubtask(), sel.GetOutputParameterKey())
			if conv := c.collectedConversion(s.comp, sel.GetProducerSubtask(), sel.GetOutputParameterKey()); conv != "" {
				vf.Parameter, vf.Expression = "", conv
			}
			if c.fromConditional(s.comp, name) {
				vf.Default = wfv1.AnyStringPtr(SkippedOutput)
			}
		} else {
			var refs []string
			for _, sel := range o.GetValueFromOneof().GetParameterSelectors() {
				refs = append(refs, fmt.Sprintf("tasks[%s].outputs.parameters[%s]", quote(sel.GetProducerSubtask()), quote(sel.GetOutputParameterKey())))
			}
			vf.Expression = oneOf(o.GetValueFromOneof().GetParameterSelectors(), refs)
		}
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: name, ValueFrom: vf})
	}
	for _, name := range sortedKeys(outs.GetArtifacts()) {
		sels := outs.GetArtifacts()[name].GetArtifactSelectors()
		if c.needDescriptor[s.comp+"/"+name] {
			c.descriptorOutput(s, tmpl, name, sels)
			if c.dagOutputIsList(s.comp, name) {
				continue
			}
		}
		art := wfv1.Artifact{Name: name}
		if len(sels) == 1 {
			art.From = fmt.Sprintf("{{tasks.%s.outputs.artifacts.%s}}", sels[0].GetProducerSubtask(), sels[0].GetOutputArtifactKey())
		} else {
			var b strings.Builder
			for i, sel := range sels {
				ref := fmt.Sprintf("tasks[%s].outputs.artifacts[%s]", quote(sel.GetProducerSubtask()), quote(sel.GetOutputArtifactKey()))
				if i == len(sels)-1 {
					b.WriteString(ref)
				} else {
					fmt.Fprintf(&b, "tasks[%s].status == 'Succeeded' ? %s : ", quote(sel.GetProducerSubtask()), ref)
				}
			}
			art.FromExpression = b.String()
		}
		tmpl.Outputs.Artifacts = append(tmpl.Outputs.Artifacts, art)
	}
	sort.SliceStable(tmpl.Outputs.Parameters, func(i, j int) bool { return tmpl.Outputs.Parameters[i].Name < tmpl.Outputs.Parameters[j].Name })
}

// descriptorOutput adds the descriptor parameter of DAG output artifact name.
func (c *compiler) descriptorOutput(s *scope, tmpl *wfv1.Template, name string, sels []*pipelinespec.DagOutputsSpec_ArtifactSelectorSpec) {
	vf := &wfv1.ValueFrom{}
	if len(sels) == 1 {
		vf.Parameter = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s%s}}", sels[0].GetProducerSubtask(), sels[0].GetOutputArtifactKey(), ArtifactSuffix)
	} else {
		var b strings.Builder
		for i, sel := range sels {
			ref := fmt.Sprintf("tasks[%s].outputs.parameters[%s]", quote(sel.GetProducerSubtask()), quote(sel.GetOutputArtifactKey()+ArtifactSuffix))
			if i == len(sels)-1 {
				b.WriteString(ref)
			} else {
				fmt.Fprintf(&b, "tasks[%s].status == 'Succeeded' ? %s : ", quote(sel.GetProducerSubtask()), ref)
			}
		}
		vf.Expression = b.String()
	}
	if c.dagOutputIsList(s.comp, name) && mayBeSkipped(s, sels) {
		// A list collected from a task under a condition: where the
		// condition is false the task is Skipped and Argo cannot resolve
		// its output (the DAG, then each DAG above it, errors). The
		// iteration then gives the empty list, which the launcher's
		// flattening of collected descriptors drops: the collection holds
		// the iterations whose producer ran, as KFP's does.
		vf.Default = wfv1.AnyStringPtr("[]")
	}
	tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: name + ArtifactSuffix, ValueFrom: vf})
}

// mayBeSkipped tells whether a producer of the selected outputs has a
// trigger condition (a KFP dsl.If / dsl.Elif / dsl.Else branch).
func mayBeSkipped(s *scope, sels []*pipelinespec.DagOutputsSpec_ArtifactSelectorSpec) bool {
	for _, sel := range sels {
		if s.spec.GetDag().GetTasks()[sel.GetProducerSubtask()].GetTriggerPolicy().GetCondition() != "" {
			return true
		}
	}
	return false
}

func oneOf(sels []*pipelinespec.DagOutputsSpec_ParameterSelectorSpec, refs []string) string {
	var b strings.Builder
	for i, sel := range sels {
		if i == len(sels)-1 {
			b.WriteString(refs[i])
			break
		}
		fmt.Fprintf(&b, "tasks[%s].status == 'Succeeded' ? %s : ", quote(sel.GetProducerSubtask()), refs[i])
	}
	return b.String()
}

// quote renders s as an expr string literal.
func quote(s string) string {
	return "'" + exprEscaper.Replace(s) + "'"
}

var exprEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

var selectorRE = regexp.MustCompile(`^parseJson\(string_value\)\["([^"\\]+)"\]$`)

func ptr[T any](v T) *T { return &v }
