// Package store owns kubeline's metadata persistence: pipelines, pipeline
// versions (with their specs), experiments, runs (state, state history, the
// Workflow and its status graph) and recurring runs; users, hashed tokens,
// groups, GPU pools, resource owners, projects and leaderboards, and each
// run's place in GPU admission (admission.go: status, demand, wait reason,
// allocation), in one SQL schema with
// migrations in code. SQLite (modernc.org/sqlite, no cgo) is the embedded
// default; PostgreSQL (pgx) serves replicated servers. Lists are paginated in
// SQL with keyset page tokens and KFP filters compiled to SQL: one query per
// page, never one per row. A page of runs (ListRunSummaries) reads no spec
// or workflow: what a list shows beyond a run's columns is kept beside it
// (runlisting.go); on SQLite its total_size is summed from run counts kept
// by triggers when its conditions allow (runcount.go).
//
// Ownership (ownership.go) is the one record of which group holds what:
// KFP's resources keep their group in their namespace column; every kind
// kubeline adds (datasets and models by name, deployments, clusters, and
// kinds to come: code repositories, featuresets, IDEs, images, monitors) is
// claimed for a group and an owner when it is made (Own: the first group
// keeps a name, another's claim is ErrTaken), released when it is deleted
// (Disown), and its lists filter by the caller's groups in SQL (Held, or a
// join on the owners table as ListResources and Catalog do). GroupHoldings
// counts what a group owns, so a group is never deleted from under it.
//
// store imports no other kubeline package.
package store
