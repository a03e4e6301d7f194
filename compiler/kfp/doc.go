// Package kfp turns KFP v2 IR documents (PipelineSpec, schemaVersion 2.1.0, as
// the kfp SDK writes them, plus the optional "platforms: kubernetes:" document)
// into a validated Pipeline: the pipelinespec protos, the kubernetes executor
// configs, and the task graph of every DAG in dependency order.
//
// Decoding is strict. Every mapping key is checked against the proto descriptor
// before protojson sees it, so an unknown field is an error naming its spec path
// and YAML line:column. The served proto version predates a few fields the SDK
// now writes; those are handled explicitly in newer.go and kept in Pipeline so
// the compiler can honour them. All errors of a document are reported together.
//
// kfp imports compiler/spec and the pipelinespec protos; never runtime/ and
// never Argo: turning the graph into a Workflow is compiler/argo's job.
package kfp
