package kfp

import "github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"

// DAG is the task graph of one DAG component.
type DAG struct {
	// Component is the component name ("root" for the pipeline's root).
	Component string
	// Spec is the component.
	Spec *pipelinespec.ComponentSpec
	// Order lists task names so that every task comes after its dependencies
	// (dependentTasks and data dependencies); ties are broken by name.
	Order []string
	// Deps maps a task to every task it must wait for: its dependentTasks and
	// the producers of its inputs, sorted.
	Deps map[string][]string
}

// Task returns the named task.
func (d *DAG) Task(name string) *pipelinespec.PipelineTaskSpec {
	return d.Spec.GetDag().GetTasks()[name]
}
