// Package argo compiles a validated KFP pipeline (compiler/kfp) into ONE Argo
// Workflow (argoproj.io/v1alpha1). The Workflow is kubeline's only executable
// form: the embedded engine and Argo Workflows run it unchanged.
//
// # Shape of a compiled workflow
//
//   - A dsl.ExitHandler exit task becomes the exit hook (hooks.exit) of its
//     exit-handler DAG task, so it runs whatever the body does and a failed
//     body still fails the run, as in KFP.
//   - Every DAG component (root, conditions, loops, nested pipelines, exit
//     handler bodies) becomes a dag template; every KFP task a DAG task.
//     Dependencies use `depends`; ALL_UPSTREAM_TASKS_COMPLETED becomes
//     "p.Succeeded || p.Failed || p.Errored".
//   - Every distinct executor becomes one container template, stored once: two
//     tasks whose executors, interfaces, inputs, retry and caching settings are
//     the same share one template, so a component spec is never repeated per task.
//   - Parameters travel as Argo parameters (strings; non-string KFP types as
//     JSON), artifacts as Argo artifacts with key-only S3 locations under
//     kubeline/{{workflow.name}}/{{pod.name}}/NAME in the workflow's artifact
//     repository (archive: none, so a URI names the object itself).
//   - KFP triggerPolicy conditions (CEL) become Argo `when` expressions when the
//     translation is exact (see condition.go); ParallelFor becomes withItems or
//     withParam with {{item}}, and parallelismLimit a wrapper dag template with
//     `parallelism`; dsl.Collected outputs are Argo's aggregated loop outputs.
//   - An executor's kubernetes platform config is applied to its template as
//     KFP's driver applies it to the pod (platform.go, schedule.go): volumes,
//     env, scheduling, security context, init containers; what a template has
//     no field for, or what arrives as JSON at run time, goes into the
//     template's podSpecPatch.
//   - The kubeline binary reaches every pod through an init container declared
//     once in spec.podSpecPatch, copying it to /kubeline/bin.
//
// # The launcher contract (kubeline launch)
//
// Each executor container runs
//
//		/kubeline/bin/kubeline launch --task TASK --component JSON
//		    [--in NAME=VALUE]... [--cache] [--importer JSON] -- COMMAND [ARG]...
//
//	  - --task is the KFP task name ({{$.pipeline_task_name}}).
//	  - --component is the component interface as KFP JSON:
//	    {"inputDefinitions": ..., "outputDefinitions": ...}. Types, defaults and
//	    optionality come from it; inputs absent from --in are absent (IfPresent).
//	  - --in NAME=VALUE gives one input parameter's value as Argo passed it:
//	    STRING raw, every other type as JSON. A TASK_FINAL_STATUS input receives
//	    the producer's Argo phase and the launcher builds the KFP struct.
//	  - Input artifact NAME is downloaded by Argo (or the engine) to
//	    /kubeline/in/NAME; an artifact list input arrives as parameter NAME
//	    holding a JSON list of artifact descriptors.
//	  - Output parameter NAME is written by the launcher to /kubeline/out/NAME
//	    (STRING raw, other types JSON); output artifact NAME is the directory
//	    /kubeline/out/NAME: the user's file or directory is .../NAME/data and the
//	    launcher writes the artifact's metadata to .../NAME/metadata.json.
//	    An artifact crossing a loop boundary also gets the output parameter
//	    NAME-artifact: its descriptor {"uri","metadata","type"} as JSON.
//	  - Everything after -- is the KFP command and args with their placeholders
//	    ({{$}}, {{$.inputs...}}, {{$.outputs...}}, IfPresent, Concat, pipeline
//	    placeholders) left for the launcher to resolve. It builds executor_input,
//	    runs the command, reads executor_output.json and output files, and writes
//	    the outputs above. --cache enables KFP step caching for the task.
//	  - --importer JSON makes the step a KFP importer: {"uri": ..., "typeSchema":
//	    ..., "metadata": ..., "reimport": bool}; a runtime URI comes from --in uri=.
//
// Environment set for every pod by the podSpecPatch: KUBELINE_WORKFLOW
// (workflow name) and KUBELINE_WORKFLOW_UID. The pod name, which output
// artifact keys contain, is the pod's HOSTNAME.
//
// argo imports compiler/kfp and compiler/spec and Argo's types; never runtime/.
package argo
