// Package local is the embedded engine: it executes an Argo Workflow — the
// compiler's output, or a hand-written workflow using the same features — as
// local processes on one machine, and writes Workflow.status in Argo's shape
// (nodes with ids, names, types, phases, boundaries, children, outbound nodes,
// inputs and outputs).
//
// What it does the way Argo does: DAG tasks with depends/dependencies, when,
// withItems/withParam/withSequence, template and workflow parallelism,
// retryStrategy with backoff, onExit and exit hooks, activeDeadlineSeconds,
// parameters and artifacts, {{...}} and {{=expr}} substitution (Argo's own
// util/template package does it). What differs, as kfp.local's subprocess
// runner does: container images are not pulled — the command runs on the host
// in a per-step working directory with the step's env; a step wrapped by
// `kubeline launch` runs the launcher in-process with per-step inputs and
// outputs directories instead of /kubeline/in and /kubeline/out. Artifacts go
// through an artifact.Store under the workflow's S3 keys. GPU requests are
// recorded on the node (resourcesDuration). Resource templates need
// Kubernetes and fail with a clear message.
//
// At scale: the engine's cost per node does not grow with the workflow. A
// loop's items resolve the task without its item list and at most twice
// MaxProcesses items are in flight; subscribers get the nodes that changed
// (Options.OnNodes) or snapshots that share unchanged nodes (OnUpdate),
// delivered from one goroutine (feed.go), never a deep copy of the whole
// workflow per change.
//
// local imports runtime/launcher and runtime/artifact; it never imports the
// compiler or the API server.
package local
