#!/usr/bin/env bash
# make e2e: build (cached) and start the e2e environment, run every
# e2e-tagged Go test and the smoke workflows against it, stop it whatever
# happened; each phase says how long it took. Uses its own E2E_DIR and port
# base so it never meets a cluster someone else started.
set -euo pipefail
cd "$(dirname "$0")/.."
export E2E_DIR="${E2E_DIR:-$(mktemp -d /tmp/kubeline-e2e-run.XXXXXX)}"
export E2E_PORT_BASE="${E2E_PORT_BASE:-28000}"
t_all=$SECONDS
timings=()
# phase NAME COMMAND...: run it, note its duration (also when it fails).
phase() {
	local name="$1" t=$SECONDS rc=0
	shift
	"$@" || rc=$?
	timings+=("$name $((SECONDS - t))s$([ "$rc" = 0 ] || echo " (failed)")")
	return "$rc"
}
# gotest NAME ARGS...: go test -v ARGS, its whole output in
# $E2E_DIR/logs/test-NAME.log; printed: each top-level test with its
# duration, the packages' verdicts, and on a failure every line but the
# test runner's own (=== RUN/PAUSE/CONT).
gotest() {
	local log="$E2E_DIR/logs/test-$1.log" rc=0
	shift
	mkdir -p "$E2E_DIR/logs"
	go test -v "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		grep -E '^(--- (PASS|FAIL|SKIP)|ok |FAIL|panic:)' "$log" || true
	else
		grep -vE '^=== (RUN|PAUSE|CONT|NAME)' "$log" || true
	fi
	echo "(whole output: $log)"
	return "$rc"
}
report() { printf 'e2e phases: %s; total %ss\n' "$(IFS=,; echo "${timings[*]}")" "$((SECONDS - t_all))" >&2; }
trap 'bash e2e/cluster.sh down || true; report' EXIT

phase build bash e2e/cluster.sh build
phase up bash e2e/cluster.sh up
eval "$(bash e2e/cluster.sh env)"
export KUBELINE_E2E_KUBECONFIG="$KUBECONFIG"
# Every test phase runs, even after one failed; make e2e fails if any did.
failed=0
phase smoke bash e2e/smoke.sh || failed=1
phase smoke-kwok bash e2e/smoke.sh --kwok || failed=1
# E2E_SKIP (a go test -skip pattern) leaves tests out;
# KUBELINE_E2E_PARITY_PYTHON=ci (.ci/run) runs only the Python corpus's
# ci: true cases (e2e/README.md, "Speed").
# -parallel: go test runs at most GOMAXPROCS (2 here) parallel subtests by
# default, whatever TestParity's own limit (KUBELINE_E2E_PARITY_PARALLEL).
export KUBELINE_E2E_PARITY_PARALLEL="${KUBELINE_E2E_PARITY_PARALLEL:-8}"
phase argo-engine gotest argo-engine -tags e2e -count=1 -timeout 45m -parallel "$KUBELINE_E2E_PARITY_PARALLEL" ${E2E_SKIP:+-skip "$E2E_SKIP"} ./runtime/engine/argo/ || failed=1
phase charts+argofake gotest charts -tags e2e -count=1 ./charts/ ./e2e/... || failed=1
phase server gotest server -tags e2e -count=1 -timeout 20m -run 'TestServerOnArgo|TestIDEOnArgo|TestRunsLandWhereSent|TestDeployAndImportAcrossClusters' ./cmd/kubeline/ || failed=1
exit "$failed"
