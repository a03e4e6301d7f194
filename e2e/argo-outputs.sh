#!/usr/bin/env bash
# Writes the WorkflowTaskResults that Argo's executor (argoexec, in the pod's
# "wait" container) would write, for the fake pods of the e2e cluster: kwok
# runs no container, and the controller keeps a node whose template declares
# outputs Running until the node's task result is complete.
#
#   e2e/argo-outputs.sh [-n NAMESPACE] [--watch SECONDS]
#
# For each pod of a Workflow (label workflows.argoproj.io/workflow) whose
# template (env ARGO_TEMPLATE of the pod's "init" container) declares outputs,
# or whose script output a later step uses (env ARGO_INCLUDE_SCRIPT_OUTPUT=true), and that
# has no WorkflowTaskResult yet (and that Argo has not labelled completed:
# Argo deletes the task results of a finished workflow), it creates one:
#   name        the node id (pod annotation workflows.argoproj.io/node-id)
#   labels      workflows.argoproj.io/workflow: <workflow>
#               workflows.argoproj.io/report-outputs-completed: "true"
#   owner       the Workflow (so deleting the Workflow collects it)
#   outputs     parameters: each output parameter of the template, its value
#               from the pod annotation e2e.kubeline.dev/outputs (a JSON
#               object {"param": "value", "result": "stdout of a script"})
#               else its valueFrom.default, else "" (the template's parameter
#               with its value set, as argoexec reports it)
# Tests set e2e.kubeline.dev/outputs in the template's metadata.annotations,
# which Argo copies onto the pod. Needs kubectl and jq; KUBECONFIG as `up` wrote.
set -euo pipefail
ns=""
watch=0
while [ $# -gt 0 ]; do
	case "$1" in
	-n) ns="$2"; shift 2 ;;
	--watch) watch="$2"; shift 2 ;;
	*) echo "usage: $0 [-n NAMESPACE] [--watch SECONDS]" >&2; exit 2 ;;
	esac
done
KUBECTL="${KUBECTL:-kubectl}"
nsargs=(--all-namespaces)
[ -n "$ns" ] && nsargs=(-n "$ns")

once() {
	local have
	have="$("$KUBECTL" get workflowtaskresults.argoproj.io "${nsargs[@]}" -o json |
		jq -r '.items[] | "\(.metadata.namespace)/\(.metadata.name)"')"
	"$KUBECTL" get pods "${nsargs[@]}" -l workflows.argoproj.io/workflow -o json |
		jq -c --arg have "$have" '
		($have | split("\n")) as $done
		| .items[]
		| . as $pod
		| ($pod.metadata.annotations["workflows.argoproj.io/node-id"] // $pod.metadata.name) as $node
		| select(($done | index("\($pod.metadata.namespace)/\($node)")) | not)
		| select(($pod.metadata.labels["workflows.argoproj.io/completed"] // "false") != "true")
		| ([($pod.spec.initContainers // []), $pod.spec.containers | .[] | .env // [] | .[] | select(.name == "ARGO_TEMPLATE") | .value][0] // "{}" | fromjson) as $tmpl
		| ([($pod.spec.initContainers // []), $pod.spec.containers | .[] | .env // [] | .[] | select(.name == "ARGO_INCLUDE_SCRIPT_OUTPUT") | .value] | index("true") != null) as $script
		| select($script or (($tmpl.outputs // {}) | (.parameters // [] | length) > 0 or (.result != null) or (.artifacts // [] | length) > 0))
		| ($pod.metadata.annotations["e2e.kubeline.dev/outputs"] // "{}" | fromjson) as $vals
		| [$pod.metadata.ownerReferences[]? | select(.kind == "Workflow")][0] as $owner
		| {
			apiVersion: "argoproj.io/v1alpha1",
			kind: "WorkflowTaskResult",
			metadata: {
				name: $node,
				namespace: $pod.metadata.namespace,
				labels: {
					"workflows.argoproj.io/workflow": $pod.metadata.labels["workflows.argoproj.io/workflow"],
					"workflows.argoproj.io/report-outputs-completed": "true"
				},
				ownerReferences: (if $owner then [{apiVersion: "argoproj.io/v1alpha1", kind: "Workflow", name: $owner.name, uid: $owner.uid}] else [] end)
			},
			outputs: ({
				parameters: [($tmpl.outputs.parameters // [])[] | . + {value: ($vals[.name] // .valueFrom.default // "" | tostring)}]
			} + (if $vals.result then {result: $vals.result} else {} end))
		}' |
		while read -r obj; do
			echo "$obj" | "$KUBECTL" create -f - >/dev/null 2>&1 &&
				echo "task result $(echo "$obj" | jq -r '.metadata.namespace + "/" + .metadata.name')" || true
		done
}

if [ "$watch" = 0 ]; then
	once
else
	end=$((SECONDS + watch))
	while [ "$SECONDS" -lt "$end" ]; do once; sleep 0.5; done
fi
