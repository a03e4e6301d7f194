#!/usr/bin/env bash
# Proves a running e2e cluster (e2e/cluster.sh up): each Workflow of
# e2e/testdata reaches the phase it should through kwok's fake pods, with
# e2e/argo-outputs.sh writing the task results of steps with outputs.
#   e2e/smoke.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
eval "$(bash "$HERE/cluster.sh" env)"
ns="${E2E_NAMESPACE:-argo}"
fail=0 pass=0

bash "$HERE/argo-outputs.sh" -n "$ns" --watch 60 >/dev/null 2>&1 &
writer=$!
trap 'kill $writer 2>/dev/null || true' EXIT

# run FILE WANT [CHECK]: create the workflow, wait for it to finish, compare.
run() {
	local file="$1" want="$2" check="${3:-}" wf phase i t0=$SECONDS
	wf="$(kubectl -n "$ns" create -f "$HERE/testdata/$file" -o name)"
	if [ "$want" = Stopped ]; then
		kubectl -n "$ns" wait "$wf" --for=jsonpath='{.status.phase}'=Running --timeout=30s >/dev/null
		kubectl -n "$ns" patch "$wf" --type merge -p '{"spec":{"shutdown":"Stop"}}' >/dev/null
		want=Failed
	fi
	for i in $(seq 1 120); do
		phase="$(kubectl -n "$ns" get "$wf" -o jsonpath='{.status.phase}')"
		case "$phase" in Succeeded | Failed | Error) break ;; esac
		sleep 0.25
	done
	local got="$phase"
	if [ -n "$check" ]; then got="$got $(kubectl -n "$ns" get "$wf" -o json | jq -r "$check")"; want="$want $4"; fi
	if [ "$got" = "$want" ]; then
		echo "ok   $file: $got ($((SECONDS - t0))s)"; pass=$((pass + 1))
	else
		echo "FAIL $file: got '$got', want '$want'"; fail=$((fail + 1))
		kubectl -n "$ns" get "$wf" -o json | jq -c '.status.message, (.status.nodes[]? | {displayName, type, phase, message})' >&2
	fi
}

run hello.yaml Succeeded
run outputs.yaml Succeeded '.status.nodes[] | select(.displayName == "consume") | .inputs.parameters[0].value' 42
run fail.yaml Failed '[.status.nodes[] | select(.type == "Pod") | .phase] | sort | join(",")' Failed,Failed,Succeeded
run script.yaml Succeeded '.status.nodes[] | select(.displayName == "echo") | .inputs.parameters[0].value' 'hello from script'
run loops.yaml Succeeded '[.status.nodes[] | "\(.type):\(.phase)"] | group_by(.) | map("\(.[0])x\(length)") | join(",")' 'DAG:Succeededx2,Pod:Succeededx4,Skipped:Skippedx1,TaskGroup:Succeededx1'
run hold.yaml Stopped '.status.message' "Stopped with strategy 'Stop'"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
