// Package store owns kubeline's metadata persistence: pipelines, pipeline
// versions (with their specs), experiments, runs (state, state history, the
// Workflow and its status graph) and recurring runs; users, hashed tokens,
// groups, GPU pools, resource owners, projects and leaderboards, and each
// run's place in GPU admission (admission.go: status, demand, wait reason,
// allocation), in one SQL schema with
// migrations in code. SQLite (modernc.org/sqlite, no cgo) is the embedded
// default; PostgreSQL (pgx) serves replicated servers. Lists are paginated in
// SQL with keyset page tokens and KFP filters compiled to SQL: one query per
// page, never one per row.
//
// store imports no other kubeline package.
package store
