package launcher

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/cel-go/cel"
	"google.golang.org/protobuf/types/known/structpb"
)

// EvalCondition evaluates a KFP triggerPolicy condition (CEL over
// inputs.parameter_values) with the step's inputs decoded by their declared
// types, as KFP's driver does, and writes "true" or "false" to
// OutputsDir/result.
func EvalCondition(cond string, opts Options) (bool, error) {
	s := &step{opts: &opts, params: map[string]*structpb.Value{}, inArts: map[string][]*artifact{}}
	if err := s.inputs(); err != nil {
		return false, err
	}
	ok, err := evalCEL(cond, s.params)
	if err != nil {
		return false, err
	}
	if opts.OutputsDir != "" {
		if err := os.MkdirAll(opts.OutputsDir, 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(filepath.Join(opts.OutputsDir, "result"), []byte(fmt.Sprint(ok)), 0o644); err != nil {
			return false, err
		}
	}
	return ok, nil
}

func evalCEL(cond string, params map[string]*structpb.Value) (bool, error) {
	env, err := cel.NewEnv(cel.Variable("inputs", cel.DynType))
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", cond, err)
	}
	ast, iss := env.Parse(cond) // unchecked: overloads resolve on runtime types, as values are dyn
	if iss != nil && iss.Err() != nil {
		return false, fmt.Errorf("condition %q: %w", cond, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", cond, err)
	}
	values := map[string]any{}
	for k, v := range params {
		values[k] = v.AsInterface()
	}
	out, _, err := prg.Eval(map[string]any{"inputs": map[string]any{"parameter_values": values}})
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", cond, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition %q: evaluates to %v, not a bool", cond, out.Value())
	}
	return b, nil
}
