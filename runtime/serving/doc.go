// Package serving runs kubeline's local deployments (target local of a
// Deployment): each model revision's predictor — and its transformer, when
// there is one — as local processes, behind kubeline's own inference
// endpoint speaking KServe's V1 (/v1/models/NAME:predict) and V2
// (/v2/models/NAME/infer) protocols, until stopped.
//
// A predictor is a process serving KServe's protocol on $PORT with its model
// in $MODEL_DIR; a transformer serves the same protocol on its $PORT,
// preprocesses a request, calls the predictor at $PREDICTOR_HOST and
// postprocesses the answer, as a KServe transformer does. The endpoint
// sends a request to the transformer when there is one, else to the
// predictor; a canary revision gets its share of the requests.
//
// On a multi-user server every process runs in a sandbox (sandbox.go,
// runtime/sandbox): a uid of the deployment's own, its working directory
// and its model only, nothing of the server's environment.
//
// serving imports runtime/launcher (process termination) and
// runtime/sandbox (its Box interface) only.
package serving
