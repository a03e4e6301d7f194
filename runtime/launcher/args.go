package launcher

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"google.golang.org/protobuf/encoding/protojson"
)

// Invocation is a parsed `kubeline launch` command line.
type Invocation struct {
	Task      string
	Component *pipelinespec.ComponentSpec
	Inputs    map[string]string
	Cache     bool
	Importer  *Importer
	Condition string
	Command   []string
}

// ParseArgs parses the arguments of `kubeline launch` (the contract in the
// compiler/argo package doc). Both the CLI and the embedded engine use it.
func ParseArgs(args []string, errOut io.Writer) (*Invocation, error) {
	inv := &Invocation{Inputs: map[string]string{}}
	fs := flag.NewFlagSet("launch", flag.ContinueOnError)
	if errOut == nil {
		errOut = io.Discard
	}
	fs.SetOutput(errOut)
	fs.StringVar(&inv.Task, "task", "", "KFP task name")
	component := fs.String("component", "{}", "component interface as KFP JSON")
	importer := fs.String("importer", "", "importer descriptor (JSON): run as a KFP importer")
	fs.StringVar(&inv.Condition, "condition", "", "CEL condition: evaluate it instead of running a command")
	fs.BoolVar(&inv.Cache, "cache", false, "the task has KFP caching enabled (honoured by the engine)")
	fs.Func("in", "input `NAME=VALUE` (repeatable)", func(s string) error {
		name, value, ok := strings.Cut(s, "=")
		if !ok || name == "" {
			return fmt.Errorf("want NAME=VALUE, got %q", s)
		}
		if _, dup := inv.Inputs[name]; dup {
			return fmt.Errorf("input %q given twice", name)
		}
		inv.Inputs[name] = value
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	inv.Command = fs.Args()
	inv.Component = &pipelinespec.ComponentSpec{}
	if err := protojson.Unmarshal([]byte(*component), inv.Component); err != nil {
		return nil, fmt.Errorf("--component: %w", err)
	}
	if *importer != "" {
		inv.Importer = &Importer{}
		if err := json.Unmarshal([]byte(*importer), inv.Importer); err != nil {
			return nil, fmt.Errorf("--importer: %w", err)
		}
	}
	if inv.Importer == nil && inv.Condition == "" && len(inv.Command) == 0 {
		return nil, errors.New("no command after --")
	}
	return inv, nil
}
