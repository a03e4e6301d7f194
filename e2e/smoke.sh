#!/usr/bin/env bash
# Proves a running e2e cluster (e2e/cluster.sh up): each Workflow of
# e2e/testdata reaches the phase it should, its pods run in containers on
# the real node (Argo's executor reports the outputs); with --kwok, the same
# on kwok's fake pods, e2e/argo-outputs.sh writing the task results.
#   e2e/smoke.sh [--kwok]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
eval "$(bash "$HERE/cluster.sh" env)"
ns="${E2E_NAMESPACE:-argo}"
fail=0 pass=0
kwok=0
[ "${1:-}" = --kwok ] && kwok=1

# On fake nodes only what asks for them: kwok's node selector and toleration.
to_nodes() {
	if [ "$kwok" = 1 ]; then
		jq '.spec.nodeSelector = {"type": "kwok"} | .spec.tolerations = [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]'
	else
		cat
	fi
}

if [ "$kwok" = 1 ]; then
	bash "$HERE/argo-outputs.sh" -n "$ns" --watch 60 >/dev/null 2>&1 &
	writer=$!
	trap 'kill $writer 2>/dev/null || true' EXIT
fi

# run FILE WANT [CHECK]: create the workflow, wait for it to finish, compare.
run() {
	local file="$1" want="$2" check="${3:-}" wf phase i t0=$SECONDS
	wf="$(kubectl create -f "$HERE/testdata/$file" --dry-run=client -o json | to_nodes | kubectl -n "$ns" create -f - -o name)"
	if [ "$want" = Stopped ]; then
		# Stopped once its step runs (a real pod takes a few seconds to start).
		kubectl -n "$ns" wait "$wf" --for=jsonpath='{.status.phase}'=Running --timeout=30s >/dev/null
		for i in $(seq 1 240); do
			[ "$(kubectl -n "$ns" get pods -l "workflows.argoproj.io/workflow=${wf#*/}" \
				-o jsonpath='{.items[*].status.phase}')" = Running ] && break
			sleep 0.25
		done
		kubectl -n "$ns" patch "$wf" --type merge -p '{"spec":{"shutdown":"Stop"}}' >/dev/null
		want=Failed
	fi
	# Argo labels a workflow completed=true once it Succeeded, Failed or
	# Errored: one watch instead of a kubectl every 0.25 s (six at once).
	kubectl -n "$ns" wait "$wf" --for=jsonpath='{.metadata.labels.workflows\.argoproj\.io/completed}'=true --timeout=180s >/dev/null || true
	phase="$(kubectl -n "$ns" get "$wf" -o jsonpath='{.status.phase}')"
	local got="$phase"
	if [ -n "$check" ]; then got="$got $(kubectl -n "$ns" get "$wf" -o json | jq -r "$check")"; want="$want $4"; fi
	if [ "$got" = "$want" ]; then
		echo "ok   $file: $got ($((SECONDS - t0))s)"
	else
		echo "FAIL $file: got '$got', want '$want'"
		kubectl -n "$ns" get "$wf" -o json | jq -c '.status.message, (.status.nodes[]? | {displayName, type, phase, message})'
		return 1
	fi
}

# On the real node the workflows run at once (a real pod mostly waits on
# the kubelet); each one's lines are printed in this order once all have
# ended. kwok's run them one at a time: a fake pod ends at once, and
# argo-outputs.sh must see a script's pod before it does (e2e/README.md,
# "Script results race"), which it missed with six at once.
out="$(mktemp -d)"
pids=()
each() {
	run "$@" >"$out/${#pids[@]}" 2>&1 &
	pids+=($!)
	[ "$kwok" = 0 ] || wait "$!" || true
}
each hello.yaml Succeeded
each outputs.yaml Succeeded '.status.nodes[] | select(.displayName == "consume") | .inputs.parameters[0].value' 42
each fail.yaml Failed '[.status.nodes[] | select(.type == "Pod") | .phase] | sort | join(",")' Failed,Failed,Succeeded
each script.yaml Succeeded '.status.nodes[] | select(.displayName == "echo") | .inputs.parameters[0].value' 'hello from script'
each loops.yaml Succeeded '[.status.nodes[] | "\(.type):\(.phase)"] | group_by(.) | map("\(.[0])x\(length)") | join(",")' 'DAG:Succeededx2,Pod:Succeededx4,Skipped:Skippedx1,TaskGroup:Succeededx1'
each hold.yaml Stopped '.status.message' "Stopped with strategy 'Stop'"
for i in "${!pids[@]}"; do
	if wait "${pids[$i]}"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	cat "$out/$i"
done
rm -rf "$out"
echo "$pass passed, $fail failed ($([ "$kwok" = 1 ] && echo "kwok's fake pods" || echo "real pods"))"
[ "$fail" = 0 ]
