// Package apiserver serves the KFP REST API (v2beta1, and the v1beta1 calls
// the Kubeflow Pipelines UI makes) over kubeline's store and engine, so the
// kfp client and the UI use kubeline as their backend. The JSON conventions
// are KFP's (see ../shared/kfp-api/NOTES.md): snake_case, omitted empties,
// int64 as strings, RFC3339 times, KFP error bodies.
//
// kubeline's own API lives under /apis/kubeline/v1 with the same
// conventions. Runs are admitted to GPUs (admit.go): a new run's peak demand
// is computed from its compiled workflow and it waits Queued in its group's
// pool until runtime/admission.Decide admits it; Decide runs again whenever a
// run is queued, ends or stops, or pools and groups change. Run statuses are
// DKube's and map onto KFP's states. In multi-user mode (auth.go) requests
// carry bearer tokens and every route's policy (policies.go: the permission
// its roles give, the group of the resource it acts on, owner-only) is
// applied before its handler. Every resource belongs to a group and has an
// owner (visibility.go holds the whole rule): a resource outside the
// caller's groups is answered exactly as a missing one (404, the same body),
// never 403; only its owner or an operator manages it; lists are filtered
// by the caller's groups in SQL; ids named in a request body (a run's
// pipeline version, a project's pipeline, a deployment's model) must be in
// the group the request makes something in; dataset:// and model:// resolve
// in the run's group only. A new kind adds a resourceOf case, targets on
// its routes' policies, a store.Own at create and store.Held in its list.
// users.go, pools.go, projects.go and runview.go
// serve users, groups, pools, projects, leaderboards, compare and a run's
// admission view. IDEs (ide.go, idelife.go) are compiled (compiler/ide)
// and admitted through the same admission records as runs (their key
// "ide/NAME"), started on the engine once admitted and Running once their
// URL answers; images.go serves the image catalog that runs, recurring
// runs and IDEs compile with (their group's), and imagebuild.go puts the
// image a succeeded ImageBuild pushed into it. Lists of runs (runlist.go)
// are served from each run's kept listing (store.RunListing: its task
// details and inline spec as JSON, kept when it ends), so a page decodes
// no spec or workflow; GET of one run renders it whole. changes.go is the
// change stream (GET /events, Server-Sent Events) the console's live pages
// follow: runs observed, admitted, ended or stopped, pools changed and
// deployments started, stopped or serving publish a change, which only
// callers who see its group are sent.
//
// Operators see the server through metrics.go and watch.go: GET /metrics
// (Prometheus text; runs by status and pool queues and GPUs read from the
// store at each scrape, admission waits, request latency by route pattern,
// step and run durations from the engine's Workflow.status snapshots),
// /livez and /readyz (the store answers), and slog records of requests,
// admissions, runs and tasks with their ids (WithLogger).
//
// It receives the pipeline compiler and the engine as values from
// cmd/kubeline and never imports a concrete engine; of the compiler it uses
// only the small document packages (deploy, ide, imagebuild, and argo's
// image-catalog rules).
package apiserver
