// Package engine declares what runs a compiled workflow. Engines take the
// Argo Workflow the compiler produced — the only executable form — and fill
// in Workflow.status the way Argo's controller does, so lineage, versions and
// the API read the same status whichever engine ran it.
//
// Drivers live in subpackages (local: the embedded engine; argo: Argo
// Workflows on Kubernetes) and are wired in cmd/kubeline only.
package engine
