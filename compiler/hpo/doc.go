// Package hpo reads kubeline's `kind: Experiment` (apiVersion
// kubeline.io/v1alpha1): Katib's v1beta1 Experiment fields, with a pipeline
// as the trial. This first part decodes an Experiment strictly and validates
// it, reporting every problem with its spec path; compiling it into one Argo
// Workflow (suggest -> trials -> observe, looped) builds on it.
//
// hpo imports compiler/spec; never runtime/.
package hpo
