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
// A deployment's `kind: Monitor` is read here too (monitor.go): which
// deployment is watched, what share of its predictions is recorded, the
// baseline its traffic is compared with (the training dataset in the
// served model's lineage, a named dataset version, or the first windows
// of served traffic), the features and predictions with their types, the
// drift metrics (PSI, KS), latency and error-rate goals with tolerances,
// the window, and the action: alert only, or retrain with a pipeline and
// redeploy the new model version as a canary when it passes a named
// metric. A Monitor is stored by the server, not compiled: its retraining
// pipeline is compiled when the action runs it.
//
// deploy imports compiler/spec and compiler/argo; never runtime/.
package deploy
