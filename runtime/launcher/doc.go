// Package launcher implements the KFP executor protocol inside one step: the
// `kubeline launch` contract that compiler/argo emits (see the compiler/argo
// package doc for the command line).
//
// Given a step's component interface, its input values and the KFP command,
// Run builds executor_input, resolves every placeholder ({{$}}, input and
// output parameters and artifacts with .path/.uri/.metadata, output_file,
// $.outputs.output_file (where executor_output.json goes),
// IfPresent, Concat, pipeline-level placeholders), creates the output
// directories, runs the command, reads output-parameter files and
// executor_output.json, and writes the step's Argo outputs under the outputs
// directory. The embedded engine calls Run in-process; in a pod, `kubeline
// launch` calls it with the fixed /kubeline/in and /kubeline/out directories.
//
// It also evaluates KFP conditions (CEL, with cel-go) for condition steps and
// runs importers.
//
// For a compiled Experiment (compiler/hpo) it runs the suggest and observe
// steps (RunSuggest, RunObserve) and, for a trial's steps (Options.Trial),
// collects the metric reports (Katib's StdOut, File and Push collectors and
// KFP metrics outputs) and stops a step by medianstop while it runs. The
// experiment's records — trials/NAME.json, tasks/TRIAL/*.json, status.json —
// live under ArtifactRoot/hpo/WORKFLOW_UID/; this version needs a local
// (file://) artifact root for them.
//
// launcher imports runtime/artifact for copying and runtime/hpo (pure) for
// the experiment's decisions; never the compiler, the
// engines, the metadata store or the API server.
package launcher
