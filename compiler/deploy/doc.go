// Package deploy compiles kubeline's `kind: Deployment` (apiVersion
// kubeline.io/v1alpha1): a model version from the catalog served by a
// predictor, with an optional transformer (preprocess → model →
// postprocess), resources and GPUs, replicas and a canary.
//
// Decode reads a Deployment strictly (YAML 1.2) and Validate reports every
// problem with its spec path. InferenceService renders the KServe
// serving.kserve.io/v1beta1 InferenceService; CompileWorkflow makes the Argo
// Workflow that resolves the model version (a `kubeline launch
// --resolve-version` step reading the version index in the artifact store)
// and applies the InferenceService with a resource template that succeeds
// when KServe reports the model loaded (Ready). Target local is served by
// kubeline itself (runtime/serving); its compiled workflow is the same, for
// review and for running it later on a cluster.
//
// deploy imports compiler/spec and compiler/argo; never runtime/.
package deploy
