// Package spec owns the first step of every compilation: turning the bytes a user
// hands kubeline into YAML documents with positions, and reporting what is wrong
// with them.
//
// It reads plain YAML/JSON files and the archives the KFP upload endpoint accepts
// (.zip, .tar.gz holding pipeline.yaml), splits multi-document YAML, detects the
// kind of each document (KFP PipelineSpec, kubernetes platform config, kubeline
// kinds), and defines the error types every compiler package reports with: an
// Error carries the spec path (root.dag.tasks[train].inputs.parameters.lr), the
// YAML line and column when known, and a message; Errors collects all of them so
// a document's problems are reported together.
//
// spec imports no other kubeline package and nothing from runtime/.
package spec
