package argo

import (
	"encoding/json"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"

	"github.com/kubeline/kubeline/compiler/spec"
)

// taskArgs are a task's compiled inputs: Argo values by input name.
type taskArgs struct {
	params    map[string]string // parameter (or artifact descriptor) name -> Argo value
	present   map[string]bool   // parameters passed
	artifacts map[string]string // artifact name -> Argo "from"
	// described lists artifact inputs passed as descriptor parameters
	// (NAME+ArtifactSuffix in params).
	described map[string]bool
	// optional lists artifact inputs the component declares optional: their
	// Argo argument is optional too (Argo replaces a template's input
	// artifact by the argument, its optional flag included, so an absent
	// object fails the pod's init container unless the argument says so).
	optional map[string]bool
	// finalStatus lists parameters that carry a task's final status from an
	// enclosing DAG input typed TASK_FINAL_STATUS (a pipeline used as an exit
	// task), whatever type the component declares for them.
	finalStatus map[string]bool
}

func (a *taskArgs) arguments() wfv1.Arguments {
	var out wfv1.Arguments
	for _, name := range sortedKeys(a.present) {
		out.Parameters = append(out.Parameters, wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr(a.params[name])})
	}
	for _, name := range sortedKeys(a.artifacts) {
		out.Artifacts = append(out.Artifacts, wfv1.Artifact{Name: name, From: a.artifacts[name], Optional: a.optional[name]})
	}
	return out
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// taskArgs resolves every input of task t in scope s.
func (c *compiler) taskArgs(s *scope, t *pipelinespec.PipelineTaskSpec, comp *pipelinespec.ComponentSpec, path string) *taskArgs {
	a := &taskArgs{params: map[string]string{}, present: map[string]bool{}, artifacts: map[string]string{},
		described: map[string]bool{}, finalStatus: map[string]bool{}, optional: map[string]bool{}}
	defs := comp.GetInputDefinitions()
	var constants []string
	for _, name := range sortedKeys(t.GetInputs().GetParameters()) {
		in := t.GetInputs().GetParameters()[name]
		p := spec.Named(path+".inputs.parameters", name)
		switch src := in.GetKind().(type) {
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_ComponentInputParameter:
			if !s.params[src.ComponentInputParameter] {
				continue // not passed by the caller: absent
			}
			if s.spec.GetInputDefinitions().GetParameters()[src.ComponentInputParameter].GetParameterType() == pipelinespec.ParameterType_TASK_FINAL_STATUS {
				a.finalStatus[name] = true
			}
			v := s.paramRef(src.ComponentInputParameter)
			if sel := in.GetParameterExpressionSelector(); sel != "" {
				m := selectorRE.FindStringSubmatch(sel)
				if m == nil {
					c.errs.Add(p+".parameterExpressionSelector", nil, "selector %q is %v: kubeline compiles parseJson(string_value)[\"key\"]", sel, spec.ErrUnsupported)
					continue
				}
				scopeName := "inputs"
				if s.root {
					scopeName = "workflow"
				}
				v = fmt.Sprintf("{{=jsonpath(%s.parameters[%s], %s)}}", scopeName, quote(src.ComponentInputParameter), quote("$."+m[1]))
			}
			a.params[name] = v
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_TaskOutputParameter:
			prod, key := src.TaskOutputParameter.GetProducerTask(), src.TaskOutputParameter.GetOutputParameterKey()
			a.params[name] = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s}}", prod, key)
			if conv := c.collectedConversion(s.comp, prod, key); conv != "" {
				a.params[name] = "{{=" + conv + "}}"
			}
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_RuntimeValue:
			typ := defs.GetParameters()[name].GetParameterType()
			a.params[name] = encodeValue(src.RuntimeValue.GetConstant(), typ)
			constants = append(constants, name)
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_TaskFinalStatus_:
			// The launcher turns this into KFP's PipelineTaskFinalStatus.
			prod := src.TaskFinalStatus.GetProducerTask()
			a.params[name] = fmt.Sprintf(`{"state":"{{tasks.%s.status}}","pipelineTaskName":%q}`, prod, prod)
		}
		a.present[name] = true
	}
	// Constants may embed other inputs of the task: {{$.inputs.parameters['x']}}.
	for _, name := range constants {
		a.params[name] = c.substitute(a, a.params[name])
	}
	for _, name := range sortedKeys(t.GetInputs().GetArtifacts()) {
		in := t.GetInputs().GetArtifacts()[name]
		a.optional[name] = defs.GetArtifacts()[name].GetIsOptional()
		switch src := in.GetKind().(type) {
		case *pipelinespec.TaskInputsSpec_InputArtifactSpec_ComponentInputArtifact:
			switch {
			case s.params[src.ComponentInputArtifact+ArtifactSuffix]:
				a.params[name+ArtifactSuffix] = s.paramRef(src.ComponentInputArtifact + ArtifactSuffix)
				a.present[name+ArtifactSuffix], a.described[name] = true, true
			case s.arts[src.ComponentInputArtifact]:
				a.artifacts[name] = "{{inputs.artifacts." + src.ComponentInputArtifact + "}}"
			}
		case *pipelinespec.TaskInputsSpec_InputArtifactSpec_TaskOutputArtifact:
			prod, key := src.TaskOutputArtifact.GetProducerTask(), src.TaskOutputArtifact.GetOutputArtifactKey()
			if c.described(s, prod, key) || defs.GetArtifacts()[name].GetIsArtifactList() {
				a.params[name+ArtifactSuffix] = fmt.Sprintf("{{tasks.%s.outputs.parameters.%s%s}}", prod, key, ArtifactSuffix)
				a.present[name+ArtifactSuffix], a.described[name] = true, true
				continue
			}
			a.artifacts[name] = fmt.Sprintf("{{tasks.%s.outputs.artifacts.%s}}", prod, key)
		}
	}
	return a
}

// substitute replaces {{$.inputs.parameters['x']}} with the Argo value of the
// task's input x, and pipeline placeholders with their Argo variables.
func (c *compiler) substitute(a *taskArgs, v string) string {
	v = inputPlaceholder.ReplaceAllStringFunc(v, func(m string) string {
		name := inputPlaceholder.FindStringSubmatch(m)[1]
		if ref, ok := a.params[name]; ok && !strings.Contains(ref, "{{$.inputs") {
			return ref
		}
		return m
	})
	for k, r := range pipelinePlaceholders {
		v = strings.ReplaceAll(v, k, r)
	}
	return v
}

// described reports whether output key of task prod in scope s travels as a
// descriptor parameter: the producer is a loop or the output is a list.
func (c *compiler) described(s *scope, prod, key string) bool {
	pt := c.p.DAGs[s.comp].Task(prod)
	if pt == nil {
		return false
	}
	if pt.GetParameterIterator() != nil {
		return true
	}
	pc := c.p.Spec.GetComponents()[pt.GetComponentRef().GetName()]
	return pc.GetOutputDefinitions().GetArtifacts()[key].GetIsArtifactList() || c.needDescriptor[pt.GetComponentRef().GetName()+"/"+key] && pc.GetDag() != nil && c.dagOutputIsList(pt.GetComponentRef().GetName(), key)
}

// dagOutputIsList reports whether a DAG component's output artifact comes from
// a loop (and so only exists as a descriptor list).
func (c *compiler) dagOutputIsList(comp, key string) bool {
	d := c.p.DAGs[comp]
	if d == nil {
		return false
	}
	for _, sel := range d.Spec.GetDag().GetOutputs().GetArtifacts()[key].GetArtifactSelectors() {
		st := d.Task(sel.GetProducerSubtask())
		if st.GetParameterIterator() != nil {
			return true
		}
		sc := c.p.Spec.GetComponents()[st.GetComponentRef().GetName()]
		if sc.GetOutputDefinitions().GetArtifacts()[sel.GetOutputArtifactKey()].GetIsArtifactList() {
			return true
		}
		if sc.GetDag() != nil && c.dagOutputIsList(st.GetComponentRef().GetName(), sel.GetOutputArtifactKey()) {
			return true
		}
	}
	return false
}

// markDescriptors finds every component output artifact that must also travel
// as a descriptor parameter, following DAG outputs down to executors.
func (c *compiler) markDescriptors() {
	var mark func(comp, key string)
	mark = func(comp, key string) {
		k := comp + "/" + key
		if c.needDescriptor[k] {
			return
		}
		c.needDescriptor[k] = true
		d := c.p.DAGs[comp]
		if d == nil {
			return
		}
		for _, sel := range d.Spec.GetDag().GetOutputs().GetArtifacts()[key].GetArtifactSelectors() {
			if st := d.Task(sel.GetProducerSubtask()); st != nil {
				mark(st.GetComponentRef().GetName(), sel.GetOutputArtifactKey())
			}
		}
	}
	for _, d := range c.p.DAGs {
		for _, t := range d.Spec.GetDag().GetTasks() {
			cons := c.p.Spec.GetComponents()[t.GetComponentRef().GetName()]
			for name, in := range t.GetInputs().GetArtifacts() {
				src := in.GetTaskOutputArtifact()
				if src == nil {
					continue
				}
				pt := d.Task(src.GetProducerTask())
				if pt == nil {
					continue
				}
				pc := c.p.Spec.GetComponents()[pt.GetComponentRef().GetName()]
				if pt.GetParameterIterator() != nil || cons.GetInputDefinitions().GetArtifacts()[name].GetIsArtifactList() ||
					pc.GetOutputDefinitions().GetArtifacts()[src.GetOutputArtifactKey()].GetIsArtifactList() {
					mark(pt.GetComponentRef().GetName(), src.GetOutputArtifactKey())
				}
			}
		}
		for key, o := range d.Spec.GetDag().GetOutputs().GetArtifacts() {
			for _, sel := range o.GetArtifactSelectors() {
				if st := d.Task(sel.GetProducerSubtask()); st != nil && st.GetParameterIterator() != nil {
					mark(d.Component, key)
				}
			}
		}
	}
}

// collectedConversion returns an expression giving a dsl.Collected list of
// numbers or booleans its KFP types, or "" when none is needed. Argo
// aggregates a loop's scalar outputs as a JSON list of strings
// (["2","4"]); KFP's Collected[int] is [2,4].
func (c *compiler) collectedConversion(dagComp, prod, key string) string {
	pt := c.p.DAGs[dagComp].Task(prod)
	if pt == nil || pt.GetParameterIterator() == nil {
		return ""
	}
	conv := map[pipelinespec.ParameterType_ParameterTypeEnum]string{
		pipelinespec.ParameterType_NUMBER_INTEGER: "asInt(#)",
		pipelinespec.ParameterType_NUMBER_DOUBLE:  "asFloat(#)",
		pipelinespec.ParameterType_BOOLEAN:        "# == 'true'",
	}[c.elementType(pt.GetComponentRef().GetName(), key)]
	list := fmt.Sprintf("fromJSON(tasks[%s].outputs.parameters[%s])", quote(prod), quote(key))
	skippable := c.fromConditional(pt.GetComponentRef().GetName(), key)
	if skippable {
		// The iterations whose producer was skipped gave SkippedOutput:
		// the collection leaves them out, as KFP's does.
		list = fmt.Sprintf("filter(%s, {# != %s})", list, quote(SkippedOutput))
	}
	switch {
	case conv != "":
		return fmt.Sprintf("toJson(map(%s, {%s}))", list, conv)
	case skippable:
		return fmt.Sprintf("toJson(%s)", list)
	}
	return ""
}

// SkippedOutput is the value a loop body's output parameter takes in an
// iteration whose producer was skipped (under a false condition): Argo's
// controller cannot resolve a Skipped task's output and fails the DAG
// unless the output has a valueFrom.default. Only collections read it, and
// they drop it (collectedConversion).
const SkippedOutput = "kubeline.io/skipped"

// fromConditional tells whether output parameter key of DAG component comp
// comes from a subtask with a trigger condition, in a loop body.
func (c *compiler) fromConditional(comp, key string) bool {
	d := c.p.DAGs[comp]
	if d == nil || !c.loopBody(comp) {
		return false
	}
	sel := d.Spec.GetDag().GetOutputs().GetParameters()[key].GetValueFromParameter()
	st := d.Task(sel.GetProducerSubtask())
	return st != nil && st.GetTriggerPolicy().GetCondition() != ""
}

// loopBody tells whether DAG component comp is the body of a loop (a
// task with a parameter iterator runs it).
func (c *compiler) loopBody(comp string) bool {
	for _, d := range c.p.DAGs {
		for _, t := range d.Spec.GetDag().GetTasks() {
			if t.GetComponentRef().GetName() == comp && t.GetParameterIterator() != nil {
				return true
			}
		}
	}
	return false
}

// elementType is the type of what one iteration of loop body comp outputs as
// key: the type of the output its DAG output selects.
func (c *compiler) elementType(comp, key string) pipelinespec.ParameterType_ParameterTypeEnum {
	d := c.p.DAGs[comp]
	if d == nil {
		return pipelinespec.ParameterType_PARAMETER_TYPE_ENUM_UNSPECIFIED
	}
	sel := d.Spec.GetDag().GetOutputs().GetParameters()[key].GetValueFromParameter()
	st := d.Task(sel.GetProducerSubtask())
	if st == nil || st.GetParameterIterator() != nil {
		return pipelinespec.ParameterType_PARAMETER_TYPE_ENUM_UNSPECIFIED
	}
	sc := c.p.Spec.GetComponents()[st.GetComponentRef().GetName()]
	if sc.GetDag() != nil {
		return c.elementType(st.GetComponentRef().GetName(), sel.GetOutputParameterKey())
	}
	return sc.GetOutputDefinitions().GetParameters()[sel.GetOutputParameterKey()].GetParameterType()
}
