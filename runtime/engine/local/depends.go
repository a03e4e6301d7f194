package local

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/expr-lang/expr"
)

// dependsToken matches a task reference in a depends expression: a task name,
// optionally with one of Argo's result selectors.
var dependsToken = regexp.MustCompile(`[A-Za-z0-9_][A-Za-z0-9_-]*(\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned|AnySucceeded|AllFailed))?`)

// dependsExpr returns the task's depends expression; dependencies: [a, b]
// is "a && b".
func dependsExpr(t *wfv1.DAGTask) string {
	if t.Depends != "" {
		return t.Depends
	}
	return strings.Join(t.Dependencies, " && ")
}

// dependencyNames lists the tasks a depends expression refers to.
func dependencyNames(dep string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range dependsToken.FindAllStringSubmatch(dep, -1) {
		name := strings.TrimSuffix(m[0], m[1])
		if name == "true" || name == "false" || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// result is what a finished task offers to depends expressions.
type result struct {
	phase        wfv1.NodePhase
	anySucceeded bool // for expanded tasks: some child succeeded
	allFailed    bool // for expanded tasks: every child failed
}

// evalDepends evaluates a depends expression against finished tasks with
// Argo's meaning: a bare name is name.Succeeded || name.Skipped || name.Daemoned.
func evalDepends(dep string, results map[string]result) (bool, error) {
	if strings.TrimSpace(dep) == "" {
		return true, nil
	}
	env := map[string]any{}
	i := 0
	var err error
	rewritten := dependsToken.ReplaceAllStringFunc(dep, func(tok string) string {
		m := dependsToken.FindStringSubmatch(tok)
		name, sel := strings.TrimSuffix(tok, m[1]), m[2]
		if name == "true" || name == "false" {
			return tok
		}
		res, ok := results[name]
		if !ok {
			err = fmt.Errorf("depends on %q, which is not a task of this DAG", name)
			return "false"
		}
		v := fmt.Sprintf("v%d", i)
		i++
		env[v] = resultHolds(res, sel)
		return v
	})
	if err != nil {
		return false, err
	}
	out, err := expr.Eval(rewritten, env)
	if err != nil {
		return false, fmt.Errorf("invalid depends %q: %w", dep, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("depends %q is not a boolean expression", dep)
	}
	return b, nil
}

func resultHolds(r result, sel string) bool {
	switch sel {
	case "":
		return r.phase == wfv1.NodeSucceeded || r.phase == wfv1.NodeSkipped
	case "Succeeded":
		return r.phase == wfv1.NodeSucceeded
	case "Failed":
		return r.phase == wfv1.NodeFailed
	case "Errored":
		return r.phase == wfv1.NodeError
	case "Skipped":
		return r.phase == wfv1.NodeSkipped
	case "Omitted":
		return r.phase == wfv1.NodeOmitted
	case "Daemoned":
		return false
	case "AnySucceeded":
		return r.anySucceeded
	case "AllFailed":
		return r.allFailed
	}
	return false
}
