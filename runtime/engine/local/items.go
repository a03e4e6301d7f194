package local

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Knetic/govaluate"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	exprenv "github.com/argoproj/argo-workflows/v3/util/expr/env"
	"github.com/expr-lang/expr"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// shouldExecute evaluates a resolved `when` as Argo's controller does: with
// govaluate, bare words taken as strings.
func shouldExecute(when string) (bool, error) {
	if when == "" {
		return true, nil
	}
	e, err := govaluate.NewEvaluableExpression(when)
	if err != nil {
		return false, fmt.Errorf("invalid 'when' expression '%s': %w", when, err)
	}
	toks := e.Tokens()
	for i, t := range toks {
		if t.Kind == govaluate.VARIABLE {
			t.Kind = govaluate.STRING
			toks[i] = t
		}
	}
	e, err = govaluate.NewEvaluableExpressionFromTokens(toks)
	if err != nil {
		return false, fmt.Errorf("invalid 'when' expression '%s': %w", when, err)
	}
	out, err := e.Evaluate(nil)
	if err != nil {
		return false, fmt.Errorf("evaluate 'when' expression '%s': %w", when, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("'when' expression '%s' does not evaluate to a boolean", when)
	}
	return b, nil
}

// expandItems returns a task's loop items, and whether it loops at all.
func expandItems(t *wfv1.DAGTask) ([]wfv1.Item, bool, error) {
	switch {
	case len(t.WithItems) > 0:
		return t.WithItems, true, nil
	case t.WithParam != "":
		var items []wfv1.Item
		if err := json.Unmarshal([]byte(t.WithParam), &items); err != nil {
			return nil, true, fmt.Errorf("withParam value could not be parsed as a JSON list: %s: %w", strings.TrimSpace(t.WithParam), err)
		}
		return items, true, nil
	case t.WithSequence != nil:
		items, err := sequence(t.WithSequence)
		return items, true, err
	}
	return nil, false, nil
}

func sequence(seq *wfv1.Sequence) ([]wfv1.Item, error) {
	atoi := func(s *intOrString) (int, error) { return strconv.Atoi(s.String()) }
	start, end := 0, 0
	var err error
	if seq.Start != nil {
		if start, err = atoi(seq.Start); err != nil {
			return nil, fmt.Errorf("withSequence.start: %w", err)
		}
	}
	switch {
	case seq.End != nil:
		if end, err = atoi(seq.End); err != nil {
			return nil, fmt.Errorf("withSequence.end: %w", err)
		}
	case seq.Count != nil:
		count, err := atoi(seq.Count)
		if err != nil {
			return nil, fmt.Errorf("withSequence.count: %w", err)
		}
		if count == 0 {
			return nil, nil
		}
		end = start + count - 1
	default:
		return nil, fmt.Errorf("neither end nor count was specified in withSequence")
	}
	format := "%d"
	if seq.Format != "" {
		format = seq.Format
	}
	var items []wfv1.Item
	step := 1
	if start > end {
		step = -1
	}
	for i := start; ; i += step {
		item, err := wfv1.ParseItem(strconv.Quote(fmt.Sprintf(format, i)))
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if i == end {
			break
		}
	}
	return items, nil
}

type intOrString = intstr.IntOrString

// itemLabel is how Argo shows an item in a node name: NAME(i:LABEL), map
// items as sorted key:value pairs, parentheses removed.
func itemLabel(item wfv1.Item) string {
	var desc string
	switch item.GetType() {
	case wfv1.Map:
		var vals []string
		for k, v := range item.GetMapVal() {
			vals = append(vals, fmt.Sprintf("%s:%v", k, v))
		}
		sort.Strings(vals)
		desc = strings.Join(vals, ",")
	case wfv1.List:
		desc = fmt.Sprint(item.GetListVal())
	default:
		desc = item.String()
	}
	return strings.NewReplacer("(", "", ")", "").Replace(desc)
}

// withItem adds {{item}} (and {{item.KEY}} for maps) to a scope copy.
func withItem(scope map[string]any, item wfv1.Item) map[string]any {
	s := make(map[string]any, len(scope)+4)
	for k, v := range scope {
		s[k] = v
	}
	switch item.GetType() {
	case wfv1.Number, wfv1.Bool:
		s["item"] = fmt.Sprintf("%v", item)
	case wfv1.String:
		s["item"] = item.GetStrVal()
	case wfv1.Map:
		m := item.GetMapVal()
		for k, v := range m {
			s["item."+k] = fmt.Sprintf("%v", v)
		}
		b, _ := json.Marshal(m)
		s["item"] = string(b)
	case wfv1.List:
		b, _ := json.Marshal(item.GetListVal())
		s["item"] = string(b)
	}
	return s
}

// dagOutputs evaluates a DAG template's outputs in its final scope.
func dagOutputs(tmpl *wfv1.Template, scope map[string]any, arts map[string]wfv1.Artifact) (*wfv1.Outputs, error) {
	if len(tmpl.Outputs.Parameters) == 0 && len(tmpl.Outputs.Artifacts) == 0 {
		return nil, nil
	}
	out := &wfv1.Outputs{}
	var errs []string
	for _, p := range tmpl.Outputs.Parameters {
		vf := p.ValueFrom
		if vf == nil {
			continue
		}
		var v string
		var err error
		switch {
		case vf.Parameter != "":
			v, err = replace(vf.Parameter, scope)
			if err == nil && strings.Contains(v, "{{") {
				err = fmt.Errorf("%s has no value", vf.Parameter)
			}
		case vf.Expression != "":
			var res any
			res, err = evalExpr(vf.Expression, scope, arts)
			v = stringify(res)
		}
		if err != nil {
			switch {
			case vf.Default != nil:
				v, err = vf.Default.String(), nil
			case fromSkipped(vf.Parameter+vf.Expression, scope):
				// A skipped or omitted producer has no outputs: the output is
				// absent (a loop then collects nothing for this iteration).
				continue
			default:
				errs = append(errs, fmt.Sprintf("outputs.parameters.%s: %v", p.Name, err))
				continue
			}
		}
		out.Parameters = append(out.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr(v)})
	}
	for _, a := range tmpl.Outputs.Artifacts {
		var src wfv1.Artifact
		ok := false
		switch {
		case a.From != "":
			if m := artifactRef.FindStringSubmatch(a.From); m != nil {
				src, ok = arts[m[1]]
			}
		case a.FromExpression != "":
			res, err := evalExpr(a.FromExpression, scope, arts)
			if err == nil {
				src, ok = res.(wfv1.Artifact)
			}
		}
		if !ok {
			if !a.Optional {
				errs = append(errs, fmt.Sprintf("outputs.artifacts.%s: no value", a.Name))
			}
			continue
		}
		src.Name = a.Name
		out.Artifacts = append(out.Artifacts, src)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

var taskRef = regexp.MustCompile(`tasks(?:\.|\[')([^.'\]]+)`)

// fromSkipped reports whether ref names a task that was skipped or omitted.
func fromSkipped(ref string, scope map[string]any) bool {
	for _, m := range taskRef.FindAllStringSubmatch(ref, -1) {
		st, _ := scope["tasks."+m[1]+".status"].(string)
		if st == string(wfv1.NodeSkipped) || st == string(wfv1.NodeOmitted) {
			return true
		}
	}
	return false
}

// evalExpr evaluates an Argo expression (valueFrom.expression,
// fromExpression) with Argo's environment: scope keys expanded into nested
// maps, artifacts as values, Argo's functions.
func evalExpr(e string, scope map[string]any, arts map[string]wfv1.Artifact) (any, error) {
	flat := make(map[string]any, len(scope)+len(arts))
	for k, v := range scope {
		flat[k] = v
	}
	for k, v := range arts {
		flat[k] = v
	}
	env := exprenv.GetFuncMap(flat)
	return expr.Eval(e, env)
}

func stringify(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
