// Package apiserver serves the KFP REST API (v2beta1, and the v1beta1 calls
// the Kubeflow Pipelines UI makes) over kubeline's store and engine, so the
// kfp client and the UI use kubeline as their backend. The JSON conventions
// are KFP's (see ../shared/kfp-api/NOTES.md): snake_case, omitted empties,
// int64 as strings, RFC3339 times, KFP error bodies.
//
// It receives the compiler and the engine as values from cmd/kubeline and
// never imports a compiler or a concrete engine itself.
package apiserver
