// Package admission decides when runs may start on the team's GPU pools. It
// is pure: values in, values out, no I/O and no clock of its own.
//
// This file set so far computes a run's peak GPU demand from its compiled
// workflow graph (demand.go): the most GPUs that can be in use at once,
// honouring dependencies, loop sizes known at submission, exit hooks,
// retries, and template and workflow parallelism, and the largest single
// step, which must fit on one node unless the run is multi-node.
//
// admission imports only Argo's workflow types.
package admission
