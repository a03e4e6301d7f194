// Package kfp turns KFP v2 IR documents (PipelineSpec, schemaVersion 2.1.0, as
// the kfp SDK writes them, plus the optional "platforms: kubernetes:" document)
// into a validated Pipeline: the pipelinespec protos, the kubernetes executor
// configs, and the task graph of every DAG in dependency order.
//
// Decoding is strict and follows the proto-JSON mapping (decode.go): messages
// are set field by field from the YAML through their descriptors, fields by
// JSON or proto name, integers as numbers or strings, enums as names or
// numbers (number.go); an unknown field is an error naming its spec path and
// YAML line:column. The served proto version predates a few fields the SDK
// now writes; those are handled explicitly (Pipeline.newerFields) and kept in
// Pipeline so the compiler can honour them. The kubernetes executor configs,
// whose proto the pinned KFP module does not ship, are Go structs
// (platform.go, every field of upstream's kubernetes_executor_config.proto)
// decoded with the same rules (structdecode.go). All errors of a document are
// reported together.
//
// kfp imports compiler/spec and the pipelinespec protos; never runtime/ and
// never Argo: turning the graph into a Workflow is compiler/argo's job.
package kfp
