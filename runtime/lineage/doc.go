// Package lineage builds kubeline's lineage graph from what runs leave
// behind — each run's Workflow status graph (the same for the embedded
// engine and Argo) and the version records linking artifacts to dataset and
// model versions — and answers the two questions of the seed: what produced
// a version (Upstream, back to raw datasets) and where a version was used
// (Downstream, "Dataset Usage"). Graphs render as JSON, Graphviz DOT and SVG
// (laid out and drawn in Go, no external program).
//
// It is pure: values in, values out. lineage imports the Argo workflow types
// only.
package lineage
