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

	"github.com/kubeline/kubeline/runtime/hpo"
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
	// Trial makes the step part of an experiment trial (--trial, --hpo-config).
	Trial *Trial
	// HPOStep is an experiment's own step: "suggest" or "observe" (of Trial,
	// whose pipeline ended in TrialStatus).
	HPOStep     string
	TrialStatus string
	// ResolveVersion is a version URI to resolve (RunResolveVersion)
	// instead of running a command.
	ResolveVersion string
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
	trial := fs.String("trial", "", "the experiment trial this step belongs to")
	hpoConfig := fs.String("hpo-config", "", "the experiment: {\"name\": NAME, \"spec\": Katib ExperimentSpec} as JSON")
	fs.StringVar(&inv.HPOStep, "hpo-step", "", "run an experiment step instead of a command: suggest or observe")
	fs.StringVar(&inv.TrialStatus, "trial-status", "", "observe: the Argo phase the trial's pipeline ended in")
	fs.StringVar(&inv.ResolveVersion, "resolve-version", "", "write the content URI of `model://NAME@vN` (or dataset://) to the outputs instead of running a command")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := inv.parseHPO(*trial, *hpoConfig); err != nil {
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
	if inv.Importer == nil && inv.Condition == "" && inv.HPOStep == "" && inv.ResolveVersion == "" && len(inv.Command) == 0 {
		return nil, errors.New("no command after --")
	}
	return inv, nil
}

func (inv *Invocation) parseHPO(trial, config string) error {
	if config == "" {
		if trial != "" || inv.HPOStep != "" {
			return errors.New("--trial and --hpo-step need --hpo-config")
		}
		return nil
	}
	c, err := hpo.ParseExperiment([]byte(config))
	if err != nil {
		return fmt.Errorf("--hpo-config: %w", err)
	}
	inv.Trial = &Trial{Name: trial, Config: c}
	switch inv.HPOStep {
	case "", "suggest":
	case "observe":
		if trial == "" || inv.TrialStatus == "" {
			return errors.New("--hpo-step observe needs --trial and --trial-status")
		}
	default:
		return fmt.Errorf("--hpo-step: want suggest or observe, got %q", inv.HPOStep)
	}
	if inv.HPOStep == "" && trial == "" {
		return errors.New("--hpo-config without --trial or --hpo-step")
	}
	return nil
}
