package kfp

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/parser"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"gopkg.in/yaml.v3"

	"github.com/kubeline/kubeline/compiler/spec"
)

// validator checks the references of a decoded pipeline and builds its DAGs.
type validator struct {
	p    *Pipeline
	doc  *yaml.Node
	errs *spec.Errors
}

// celParser parses trigger conditions (the macros of parser.Parse); a
// Parser may be used by several goroutines.
var celParser = func() *parser.Parser {
	prs, err := parser.NewParser(parser.Macros(parser.AllMacros...))
	if err != nil {
		panic(fmt.Sprintf("create CEL parser: %v", err))
	}
	return prs
}()

// ParseCEL parses a CEL expression as KFP's trigger conditions are parsed:
// what the kfp SDK writes by parseCondition (the same tree, a fraction of
// the cost), anything else by CEL's own parser, which also reports every
// error.
func ParseCEL(expr string) (*ast.AST, *common.Errors) {
	if tree, ok := parseCondition(expr); ok {
		return tree, nil
	}
	return celParser.Parse(common.NewTextSource(expr))
}

func validate(p *Pipeline, doc *spec.Document, errs *spec.Errors) {
	v := &validator{p: p, doc: doc.Node, errs: errs}
	v.pipeline()
}

// pos finds the YAML position of a dotted path of mapping keys, best effort.
func (v *validator) pos(keys ...string) *spec.Pos {
	n := v.doc
	var last *yaml.Node = n
	for _, k := range keys {
		n = spec.Lookup(n, k)
		if n == nil {
			break
		}
		last = n
	}
	return spec.PosOf(last)
}

func (v *validator) pipeline() {
	ps := v.p.Spec
	if strings.TrimSpace(ps.GetPipelineInfo().GetName()) == "" {
		v.errs.Add("pipelineInfo.name", v.pos("pipelineInfo", "name"), "required: the pipeline's name")
	}
	if ps.GetRoot() == nil {
		v.errs.Add("root", nil, "required: the root DAG of the pipeline")
		return
	}
	if ps.GetRoot().GetDag() == nil {
		v.errs.Add("root.dag", v.pos("root"), "required: the root component must be a DAG")
		return
	}
	v.p.DAGs = map[string]*DAG{}
	v.dag(RootName, "root", ps.GetRoot(), []string{"root"})
	names := make([]string, 0, len(ps.GetComponents()))
	for name := range ps.GetComponents() {
		names = append(names, name)
	}
	sort.Strings(names)
	execs := v.executors()
	for _, name := range names {
		c := ps.GetComponents()[name]
		path := spec.Named("components", name)
		switch {
		case c.GetDag() != nil:
			v.dag(name, path, c, []string{"components", name})
		case c.GetExecutorLabel() != "":
			if _, ok := execs[c.GetExecutorLabel()]; !ok {
				v.errs.Add(path+".executorLabel", v.pos("components", name, "executorLabel"),
					"executor %q is not defined in deploymentSpec.executors", c.GetExecutorLabel())
			}
		default:
			v.errs.Add(path, v.pos("components", name), "a component needs a dag or an executorLabel")
		}
	}
	for label := range v.p.Kubernetes {
		if _, ok := execs[label]; !ok {
			v.errs.Add(spec.Named("platforms.kubernetes.deploymentSpec.executors", label), nil,
				"executor %q is not defined in deploymentSpec.executors", label)
		}
	}
}

// executors returns the executor specs by label.
func (v *validator) executors() map[string]*pipelinespec.PipelineDeploymentConfig_ExecutorSpec {
	return v.p.Deployment.GetExecutors()
}

func (v *validator) dag(name, path string, c *pipelinespec.ComponentSpec, keys []string) {
	tasks := c.GetDag().GetTasks()
	d := &DAG{Component: name, Spec: c, Deps: map[string][]string{}}
	v.p.DAGs[name] = d
	tp := path + ".dag.tasks"
	tkeys := append(append([]string{}, keys...), "dag", "tasks")
	taskNames := make([]string, 0, len(tasks))
	for tn := range tasks {
		taskNames = append(taskNames, tn)
	}
	sort.Strings(taskNames)
	for _, tn := range taskNames {
		t := tasks[tn]
		p := spec.Named(tp, tn)
		pos := v.pos(append(tkeys, tn)...)
		deps := map[string]bool{}
		for _, dep := range t.GetDependentTasks() {
			if _, ok := tasks[dep]; !ok {
				v.errs.Add(p+".dependentTasks", pos, "task %q is not in this DAG", dep)
				continue
			}
			deps[dep] = true
		}
		v.task(c, tasks, tn, t, p, pos, deps)
		list := make([]string, 0, len(deps))
		for dep := range deps {
			if dep == tn {
				v.errs.Add(p, pos, "task depends on itself")
				continue
			}
			list = append(list, dep)
		}
		sort.Strings(list)
		d.Deps[tn] = list
	}
	order, cycle := topoSort(taskNames, d.Deps)
	if cycle != nil {
		v.errs.Add(tp, v.pos(tkeys...), "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
	d.Order = order
	v.dagOutputs(c, tasks, path, keys)
}

func (v *validator) task(parent *pipelinespec.ComponentSpec, tasks map[string]*pipelinespec.PipelineTaskSpec,
	tn string, t *pipelinespec.PipelineTaskSpec, p string, pos *spec.Pos, deps map[string]bool) {
	ref := t.GetComponentRef().GetName()
	comp := v.p.Spec.GetComponents()[ref]
	if ref == "" {
		v.errs.Add(p+".componentRef.name", pos, "required: the component this task runs")
	} else if comp == nil {
		v.errs.Add(p+".componentRef.name", pos, "component %q is not defined in components", ref)
	}
	parentIn := parent.GetInputDefinitions()
	for in, ps := range t.GetInputs().GetParameters() {
		ip := spec.Named(p+".inputs.parameters", in)
		switch src := ps.GetKind().(type) {
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_ComponentInputParameter:
			if _, ok := parentIn.GetParameters()[src.ComponentInputParameter]; !ok {
				v.errs.Add(ip+".componentInputParameter", pos, "the enclosing component has no input parameter %q", src.ComponentInputParameter)
			}
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_TaskOutputParameter:
			v.producerOutput(tasks, src.TaskOutputParameter.GetProducerTask(), src.TaskOutputParameter.GetOutputParameterKey(), false, ip+".taskOutputParameter", pos, deps)
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_RuntimeValue:
		case *pipelinespec.TaskInputsSpec_InputParameterSpec_TaskFinalStatus_:
			pt := src.TaskFinalStatus.GetProducerTask()
			if _, ok := tasks[pt]; !ok {
				v.errs.Add(ip+".taskFinalStatus.producerTask", pos, "task %q is not in this DAG", pt)
			} else {
				deps[pt] = true
			}
		case nil:
			v.errs.Add(ip, pos, "required: a value source (componentInputParameter, taskOutputParameter, runtimeValue or taskFinalStatus)")
		}
	}
	for in, as := range t.GetInputs().GetArtifacts() {
		ap := spec.Named(p+".inputs.artifacts", in)
		switch src := as.GetKind().(type) {
		case *pipelinespec.TaskInputsSpec_InputArtifactSpec_ComponentInputArtifact:
			if _, ok := parentIn.GetArtifacts()[src.ComponentInputArtifact]; !ok {
				v.errs.Add(ap+".componentInputArtifact", pos, "the enclosing component has no input artifact %q", src.ComponentInputArtifact)
			}
		case *pipelinespec.TaskInputsSpec_InputArtifactSpec_TaskOutputArtifact:
			v.producerOutput(tasks, src.TaskOutputArtifact.GetProducerTask(), src.TaskOutputArtifact.GetOutputArtifactKey(), true, ap+".taskOutputArtifact", pos, deps)
		case nil:
			v.errs.Add(ap, pos, "required: a value source (componentInputArtifact or taskOutputArtifact)")
		}
	}
	if comp != nil {
		v.requiredInputs(comp, t, p, pos)
	}
	if cond := t.GetTriggerPolicy().GetCondition(); cond != "" {
		if _, seen := v.p.Conditions[cond]; !seen {
			tree, iss := ParseCEL(cond)
			if iss != nil && len(iss.GetErrors()) > 0 {
				v.errs.Add(p+".triggerPolicy.condition", pos, "invalid CEL condition %q: %s", cond, strings.TrimSpace(iss.ToDisplayString()))
			} else {
				v.p.Conditions[cond] = tree
			}
		}
	}
	v.iterator(t, p, pos)
}

func (v *validator) producerOutput(tasks map[string]*pipelinespec.PipelineTaskSpec, producer, key string, artifact bool,
	path string, pos *spec.Pos, deps map[string]bool) {
	pt, ok := tasks[producer]
	if !ok {
		v.errs.Add(path+".producerTask", pos, "task %q is not in this DAG", producer)
		return
	}
	deps[producer] = true
	pc := v.p.Spec.GetComponents()[pt.GetComponentRef().GetName()]
	if pc == nil {
		return // reported on the producer
	}
	outs := pc.GetOutputDefinitions()
	if artifact {
		if _, ok := outs.GetArtifacts()[key]; !ok {
			v.errs.Add(path+".outputArtifactKey", pos, "task %q has no output artifact %q", producer, key)
		}
		return
	}
	if _, ok := outs.GetParameters()[key]; !ok {
		v.errs.Add(path+".outputParameterKey", pos, "task %q has no output parameter %q", producer, key)
	}
}

func (v *validator) requiredInputs(comp *pipelinespec.ComponentSpec, t *pipelinespec.PipelineTaskSpec, p string, pos *spec.Pos) {
	for name, def := range comp.GetInputDefinitions().GetParameters() {
		if def.GetIsOptional() || def.GetDefaultValue() != nil {
			continue
		}
		if _, ok := t.GetInputs().GetParameters()[name]; ok {
			continue
		}
		if it := t.GetParameterIterator(); it != nil && it.GetItemInput() == name {
			continue
		}
		v.errs.Add(spec.Named(p+".inputs.parameters", name), pos, "required input parameter of component %q is not set", t.GetComponentRef().GetName())
	}
	for name, def := range comp.GetInputDefinitions().GetArtifacts() {
		if def.GetIsOptional() {
			continue
		}
		if _, ok := t.GetInputs().GetArtifacts()[name]; ok {
			continue
		}
		if it := t.GetArtifactIterator(); it != nil && it.GetItemInput() == name {
			continue
		}
		v.errs.Add(spec.Named(p+".inputs.artifacts", name), pos, "required input artifact of component %q is not set", t.GetComponentRef().GetName())
	}
}

func (v *validator) iterator(t *pipelinespec.PipelineTaskSpec, p string, pos *spec.Pos) {
	it := t.GetParameterIterator()
	if it == nil {
		return
	}
	ip := p + ".parameterIterator"
	if it.GetItemInput() == "" {
		v.errs.Add(ip+".itemInput", pos, "required: the input that receives each item")
	}
	switch src := it.GetItems().GetKind().(type) {
	case *pipelinespec.ParameterIteratorSpec_ItemsSpec_Raw:
		var items []any
		if err := json.Unmarshal([]byte(src.Raw), &items); err != nil {
			v.errs.Add(ip+".items.raw", pos, "expected a JSON list: %v", err)
		}
	case *pipelinespec.ParameterIteratorSpec_ItemsSpec_InputParameter:
		if _, ok := t.GetInputs().GetParameters()[src.InputParameter]; !ok {
			v.errs.Add(ip+".items.inputParameter", pos, "the task has no input parameter %q", src.InputParameter)
		}
	default:
		v.errs.Add(ip+".items", pos, "required: raw or inputParameter")
	}
}

func (v *validator) dagOutputs(c *pipelinespec.ComponentSpec, tasks map[string]*pipelinespec.PipelineTaskSpec, path string, keys []string) {
	op := path + ".dag.outputs"
	pos := v.pos(append(append([]string{}, keys...), "dag", "outputs")...)
	check := func(p, producer, key string, artifact bool) {
		v.producerOutput(tasks, producer, key, artifact, p, pos, map[string]bool{})
	}
	for name, o := range c.GetDag().GetOutputs().GetParameters() {
		p := spec.Named(op+".parameters", name)
		switch {
		case o.GetValueFromParameter() != nil:
			check(p+".valueFromParameter", o.GetValueFromParameter().GetProducerSubtask(), o.GetValueFromParameter().GetOutputParameterKey(), false)
		case o.GetValueFromOneof() != nil:
			for i, s := range o.GetValueFromOneof().GetParameterSelectors() {
				check(spec.Index(p+".valueFromOneof.parameterSelectors", i), s.GetProducerSubtask(), s.GetOutputParameterKey(), false)
			}
		default:
			v.errs.Add(p, pos, "required: valueFromParameter or valueFromOneof")
		}
	}
	for name, o := range c.GetDag().GetOutputs().GetArtifacts() {
		p := spec.Named(op+".artifacts", name)
		if len(o.GetArtifactSelectors()) == 0 {
			v.errs.Add(p, pos, "required: artifactSelectors")
		}
		for i, s := range o.GetArtifactSelectors() {
			check(spec.Index(p+".artifactSelectors", i), s.GetProducerSubtask(), s.GetOutputArtifactKey(), true)
		}
	}
}

// topoSort orders names so dependencies come first (Kahn's algorithm, ties by
// name). On a cycle it returns the nodes of one cycle.
func topoSort(names []string, deps map[string][]string) ([]string, []string) {
	indeg := map[string]int{}
	users := map[string][]string{}
	for _, n := range names {
		for _, d := range deps[n] {
			indeg[n]++
			users[d] = append(users[d], n)
		}
	}
	var ready, order []string
	for _, n := range names {
		if indeg[n] == 0 {
			ready = append(ready, n)
		}
	}
	for len(ready) > 0 {
		sort.Strings(ready)
		n := ready[0]
		ready = ready[1:]
		order = append(order, n)
		for _, u := range users[n] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) == len(names) {
		return order, nil
	}
	// Walk dependencies from a remaining node until one repeats.
	left := map[string]bool{}
	for _, n := range names {
		if indeg[n] > 0 {
			left[n] = true
		}
	}
	var start string
	for _, n := range names {
		if left[n] {
			start = n
			break
		}
	}
	seen := map[string]int{}
	var path []string
	for n := start; ; {
		if i, ok := seen[n]; ok {
			return order, append(path[i:], n)
		}
		seen[n] = len(path)
		path = append(path, n)
		for _, d := range deps[n] {
			if left[d] {
				n = d
				break
			}
		}
	}
}
