// Package launchcmd is what a step runs: `kubeline launch` (the launcher
// contract of the compiler/argo package doc, around runtime/launcher) and
// `kubeline install` (the init container's copy of the binary). Both the
// full kubeline binary and the small in-pod one, cmd/kubeline-launch, call
// it, so the two have one command line.
//
// It imports runtime/launcher and runtime/artifact only — no compiler,
// engine, metadata store, API server, Kubernetes client or metrics — so the
// in-pod binary stays small and starts fast; TestInPodDependencies guards
// that.
package launchcmd
