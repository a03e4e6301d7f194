// Package mlmd serves ML Metadata (ml_metadata.MetadataStoreService) to the
// Kubeflow Pipelines UI over gRPC-web, answered from kubeline's own records
// in the shapes KFP's v2 driver and launcher write: a run is a context of
// type system.PipelineRun named by the run id; its DAGs (root, sub-DAGs,
// conditions, loops and their iterations) are system.DAGExecution and its
// steps system.ContainerExecution (system.ImporterExecution for importers),
// with the custom properties the UI reads (task_name, display_name,
// parent_dag_id, iteration_index/iteration_count, pod_name, namespace,
// inputs and outputs); their artifacts carry uri, type and display_name and
// are linked by INPUT and OUTPUT events whose path is the artifact's name.
//
// graph.go turns one run (its Argo Workflow with status, as the store holds
// it) into that graph, purely. The graph's objects have string keys; the
// int64 ids MLMD speaks are the store's (IDs), stable across calls and
// restarts. service.go answers the read calls the UI makes (see the UI's
// src/mlmd/ and src/lib/) with connect-go's gRPC-web support and the Go
// messages generated from MLMD 1.14's protos that KFP ships as the module
// github.com/kubeflow/pipelines/third_party/ml-metadata. Writes are refused:
// kubeline's runs are the only source of these records.
//
// The package does no I/O beyond the interfaces it is given (Runs, IDs,
// and an optional artifact metadata reader); it must not import the store,
// an engine or the API server, which wires it.
package mlmd
