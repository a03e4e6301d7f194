// Package admission decides when runs may start on the team's GPU pools. It
// is pure: values in, values out, no I/O and no clock of its own.
//
// demand.go computes a run's peak GPU demand from its compiled workflow
// graph: the most GPUs that can be in use at once (a weighted antichain of
// the DAG, by min-flow), honouring dependencies, loop sizes known at
// submission, exit hooks, retries, and template and workflow parallelism,
// and the largest single step, which must fit on one node unless the run is
// multi-node. A loop whose size is unknown at submission counts as its
// parallelism limit, or as one iteration without one, and marks the demand
// Dynamic.
//
// queue.go decides, from a snapshot of pools, running allocations and the
// queue, which runs start now: FIFO per pool, a later run may skip ahead of
// one that does not fit, but once a run has waited the aging limit (10
// minutes by default) nothing later in its pool starts before it, so no run
// waits forever; start_anyway runs start at once and reserve nothing. Every
// waiting run gets its reason ("needs 4 × a100 on one node; pool a100 has at
// most 2 free on a node").
//
// cluster.go holds the pools' arithmetic: the cluster's nodes and GPUs come
// from the server's configuration; operator-made pools are validated against
// them (ValidatePools: every node known, one GPU type per pool, no node
// over-given) and the default pool is what is left (WithDefault), so the
// totals of all pools always add up to the cluster's GPUs.
//
// admission imports only Argo's workflow types.
package admission
