// Package hpo compiles kubeline's `kind: Experiment` (apiVersion
// kubeline.io/v1alpha1): Katib's v1beta1 Experiment fields, with a KFP
// pipeline as the trial (trialTemplate.pipelineFile, an inline pipelineSpec,
// or a stored pipelineVersionReference).
//
// Decode reads an Experiment strictly (YAML 1.2) and Validate reports every
// problem with its spec path. CompileWorkflow turns it, with its trial
// pipeline already compiled by compiler/argo, into ONE Argo Workflow:
//
//	hpo-experiment (DAG): suggest → trial (withParam, ≤ parallelTrialCount)
//	                      → hpo-experiment again unless suggest said done
//	hpo-trial (DAG):      trial-<pipeline root> → observe (whatever its phase)
//
// The pipeline's templates are copied as trial-*, each taking the trial's
// name and the pipeline's parameters as inputs (every
// {{workflow.parameters.P}} becomes an input threaded from the trial), so
// trials run side by side with their own values; launcher steps get
// --trial/--hpo-config and lose --cache. The experiment itself travels as
// the workflow parameter kubeline-hpo (ConfigJSON). The suggest, observe and
// trial steps are `kubeline launch` modes (runtime/launcher): suggest reads
// the finished trials from the experiment's own records, so no HPO
// controller or database is needed and the workflow runs unchanged on the
// embedded engine and on Argo.
//
// hpo imports compiler/spec and compiler/argo; never runtime/.
package hpo
