package argo

import (
	"errors"

	"fmt"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"strconv"
	"strings"

	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"

	"github.com/kubeline/kubeline/compiler/kfp"
	"github.com/kubeline/kubeline/compiler/spec"
)

// condition translates a KFP triggerPolicy condition (CEL over
// inputs.parameter_values) into an Argo `when` expression. The translation is
// exact for what the kfp SDK emits: comparisons, &&, ||, !, int(), double(),
// string() and literals over the task's input parameters. Argo parameters are
// strings, so a NUMBER_* input is read with asFloat and a BOOLEAN with == 'true'.
// Argo evaluates a `when` in one scope at a time (the DAG's inputs when the
// template starts, sibling task outputs when the task is due), so a condition
// that mixes both is translated only when the DAG input is bound to a pipeline
// parameter (workflow.parameters are visible in both); otherwise it is
// reported as not supported.
func (c *compiler) condition(s *scope, t *pipelinespec.PipelineTaskSpec, cond string) (string, error) {
	tree, ok := c.p.Conditions[cond]
	if !ok {
		var iss *common.Errors
		tree, iss = kfp.ParseCEL(cond)
		if iss != nil && len(iss.GetErrors()) > 0 {
			return "", fmt.Errorf("invalid CEL %q: %s", cond, iss.ToDisplayString())
		}
	}
	tr := &celTranslator{c: c, s: s, t: t, scopes: map[string]bool{}}
	out, err := tr.expr(tree.Expr())
	if err != nil {
		return "", fmt.Errorf("condition %q: %w", cond, err)
	}
	if tr.scopes["tasks"] && tr.scopes["inputs"] {
		return "", errMixedScope
	}
	return "{{=" + out + "}}", nil
}

// errMixedScope says a condition needs values from two Argo scopes; it is
// then evaluated by a condition step instead (conditionStep).
var errMixedScope = errors.New("condition mixes DAG inputs with task outputs")

// conditionStep evaluates cond with the launcher (kubeline launch --condition)
// in a step of its own, for conditions no Argo `when` can express exactly. The
// gated task runs when the step's output "result" is true.
func (c *compiler) conditionStep(s *scope, t *pipelinespec.PipelineTaskSpec, tn, cond, deps string) wfv1.DAGTask {
	comp := c.p.Spec.GetComponents()[t.GetComponentRef().GetName()]
	a := c.taskArgs(s, t, comp, "")
	iface := &pipelinespec.ComponentSpec{InputDefinitions: &pipelinespec.ComponentInputsSpec{Parameters: map[string]*pipelinespec.ComponentInputsSpec_ParameterSpec{}}}
	tmpl := wfv1.Template{}
	var args []string
	for _, name := range sortedKeys(a.present) {
		if !strings.Contains(cond, name) {
			delete(a.present, name)
			continue
		}
		iface.InputDefinitions.Parameters[name] = comp.GetInputDefinitions().GetParameters()[name]
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
		args = append(args, "--in", name+"={{inputs.parameters."+name+"}}")
	}
	tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, wfv1.Parameter{Name: "condition"})
	args = append([]string{"--condition", "{{inputs.parameters.condition}}", "--component", compactJSON(iface)}, args...)
	tmpl.Container = &corev1.Container{Image: c.opts.Image, Command: []string{Launcher, "launch"}, Args: args}
	tmpl.Outputs.Parameters = []wfv1.Parameter{{Name: "result", ValueFrom: &wfv1.ValueFrom{Path: OutputsDir + "/result"}}}
	a.params["condition"], a.present["condition"] = cond, true
	return wfv1.DAGTask{Name: tn + "-condition", Template: c.addShared("condition", tmpl), Depends: deps, Arguments: a.arguments()}
}

type celTranslator struct {
	c      *compiler
	s      *scope
	t      *pipelinespec.PipelineTaskSpec
	scopes map[string]bool
}

var binaryOps = map[string]string{
	operators.Equals: "==", operators.NotEquals: "!=", operators.Less: "<", operators.LessEquals: "<=",
	operators.Greater: ">", operators.GreaterEquals: ">=", operators.LogicalAnd: "&&", operators.LogicalOr: "||",
	operators.Add: "+", operators.Subtract: "-", operators.Multiply: "*", operators.Divide: "/", operators.Modulo: "%",
	operators.In: "in",
}

func (tr *celTranslator) expr(e ast.Expr) (string, error) {
	switch e.Kind() {
	case ast.LiteralKind:
		return literal(e.AsLiteral())
	case ast.CallKind:
		return tr.call(e.AsCall())
	case ast.ListKind:
		var parts []string
		for _, el := range e.AsList().Elements() {
			s, err := tr.expr(el)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("expression kind %v is %w", e.Kind(), spec.ErrUnsupported)
}

func (tr *celTranslator) call(call ast.CallExpr) (string, error) {
	fn, args := call.FunctionName(), call.Args()
	if fn == operators.Index {
		return tr.param(args)
	}
	if op, ok := binaryOps[fn]; ok && len(args) == 2 {
		l, err := tr.expr(args[0])
		if err != nil {
			return "", err
		}
		r, err := tr.expr(args[1])
		if err != nil {
			return "", err
		}
		return "(" + l + " " + op + " " + r + ")", nil
	}
	if len(args) != 1 {
		return "", fmt.Errorf("function %s is %w", fn, spec.ErrUnsupported)
	}
	a, err := tr.expr(args[0])
	if err != nil {
		return "", err
	}
	switch fn {
	case operators.LogicalNot:
		return "!" + a, nil
	case operators.Negate:
		return "-" + a, nil
	case "int":
		return "int(" + a + ")", nil
	case "double":
		return "float(" + a + ")", nil
	case "string":
		return "string(" + a + ")", nil
	}
	return "", fmt.Errorf("function %s is %w", fn, spec.ErrUnsupported)
}

// param translates inputs.parameter_values['k'] into the Argo reference of the
// task's input k, typed for comparison.
func (tr *celTranslator) param(args []ast.Expr) (string, error) {
	if len(args) != 2 || args[0].Kind() != ast.SelectKind || args[1].Kind() != ast.LiteralKind {
		return "", fmt.Errorf("indexing other than inputs.parameter_values['name'] is %w", spec.ErrUnsupported)
	}
	sel := args[0].AsSelect()
	if sel.FieldName() != "parameter_values" || sel.Operand().Kind() != ast.IdentKind || sel.Operand().AsIdent() != "inputs" {
		return "", fmt.Errorf("only inputs.parameter_values is %w", spec.ErrUnsupported)
	}
	name, ok := args[1].AsLiteral().Value().(string)
	if !ok {
		return "", fmt.Errorf("parameter_values key must be a string")
	}
	in, ok := tr.t.GetInputs().GetParameters()[name]
	if !ok {
		return "", fmt.Errorf("the task has no input parameter %q", name)
	}
	var ref string
	switch src := in.GetKind().(type) {
	case *pipelinespec.TaskInputsSpec_InputParameterSpec_ComponentInputParameter:
		p := src.ComponentInputParameter
		switch {
		case tr.s.rootRefs[p] != "":
			ref = "workflow.parameters[" + quote(tr.s.rootRefs[p]) + "]"
		case tr.s.params[p]:
			ref = "inputs.parameters[" + quote(p) + "]"
			tr.scopes["inputs"] = true
		default:
			return "", fmt.Errorf("input %q is not passed to this DAG", p)
		}
	case *pipelinespec.TaskInputsSpec_InputParameterSpec_TaskOutputParameter:
		ref = fmt.Sprintf("tasks[%s].outputs.parameters[%s]", quote(src.TaskOutputParameter.GetProducerTask()), quote(src.TaskOutputParameter.GetOutputParameterKey()))
		tr.scopes["tasks"] = true
	case *pipelinespec.TaskInputsSpec_InputParameterSpec_RuntimeValue:
		return literalValue(src.RuntimeValue.GetConstant().AsInterface())
	default:
		return "", fmt.Errorf("input %q: source is %w in conditions", name, spec.ErrUnsupported)
	}
	switch tr.inputType(name) {
	case pipelinespec.ParameterType_NUMBER_INTEGER, pipelinespec.ParameterType_NUMBER_DOUBLE:
		return "asFloat(" + ref + ")", nil
	case pipelinespec.ParameterType_BOOLEAN:
		return "(" + ref + " == 'true')", nil
	}
	return ref, nil
}

// inputType is the declared type of the task's input: the DAG component's
// input definition for the condition's own inputs.
func (tr *celTranslator) inputType(name string) pipelinespec.ParameterType_ParameterTypeEnum {
	comp := tr.c.p.Spec.GetComponents()[tr.t.GetComponentRef().GetName()]
	if def, ok := comp.GetInputDefinitions().GetParameters()[name]; ok {
		return def.GetParameterType()
	}
	return pipelinespec.ParameterType_STRING
}

func literal(v interface{ Value() any }) (string, error) { return literalValue(v.Value()) }

func literalValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return quote(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	case types.Null, nil:
		return "nil", nil
	}
	return "", fmt.Errorf("literal %v is %w", v, spec.ErrUnsupported)
}
