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
	e2e_go test -v "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		grep -E '^(--- (PASS|FAIL|SKIP)|ok |FAIL|panic:)' "$log" || true
	else
		grep -vE '^=== (RUN|PAUSE|CONT|NAME)' "$log" || true
	fi
	echo "(whole output: $log)"
	return "$rc"
}
# background NAME COMMAND...: phase NAME in the background, its output
# held in $E2E_DIR/logs/phase-NAME.out until joined; joined NAME waits for
# it, prints that output whole under a header with its duration, and notes
# its duration (also when it fails). Concurrent phases thus print one after
# the other, never interleaved.
declare -A bg_pid=()
background() {
	local name="$1"
	shift
	mkdir -p "$E2E_DIR/logs"
	(
		t=$SECONDS rc=0
		"$@" >"$E2E_DIR/logs/phase-$name.out" 2>&1 || rc=$?
		echo "$rc $((SECONDS - t))" >"$E2E_DIR/logs/phase-$name.rc"
	) &
	bg_pid[$name]=$!
}
joined() {
	local name="$1" rc=1 d=0
	wait "${bg_pid[$name]}" || true
	unset "bg_pid[$name]"
	read -r rc d <"$E2E_DIR/logs/phase-$name.rc" || true
	echo "=== phase $name: ${d}s$([ "$rc" = 0 ] || echo ", FAILED (exit $rc)")"
	cat "$E2E_DIR/logs/phase-$name.out"
	timings+=("$name ${d}s$([ "$rc" = 0 ] || echo " (failed)")")
	return "$rc"
}
# Phases still running when run.sh exits early are stopped, with every
# process they started, before the cluster goes down.
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill -TERM "$1" 2>/dev/null || true
}
stop_background() {
	local p
	for p in "${bg_pid[@]}"; do kill_tree "$p"; done
}
report() { printf 'e2e phases: %s; total %ss\n' "$(IFS=,; echo "${timings[*]}")" "$((SECONDS - t_all))" >&2; }
# On TERM (timeout, as .ci/run stops it) or ^C: stop everything, the
# cluster too. Both arrive twice (from the signal to the process group and
# from make passing it on), and a second one would kill bash in the middle
# of its EXIT trap: the trap ignores them (so does `down`, inheriting that).
on_exit() {
	trap '' TERM INT
	stop_background
	bash e2e/cluster.sh down || true
	report
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# One Go configuration for all this checkout compiles here: the images'
# binaries (e2e/images.sh: static and -trimpath, as the Dockerfile builds
# them), the e2e test binaries and the kubeline binaries those tests build
# (they inherit go test's environment). Go's build cache keys every package
# by its configuration, so with one configuration each package compiles
# once, not once for the images and once for the tests (e2e/README.md,
# "Speed"). No DWARF: nothing here reads it, the images' binaries are
# stripped, and the compiler spends a tenth of its time writing it.
export E2E_GOFLAGS="-trimpath -gcflags=all=-dwarf=false"
e2e_go() { CGO_ENABLED=0 GOFLAGS="$E2E_GOFLAGS" go "$@"; }

# What this checkout compiles (the images' binaries, the e2e test packages)
# compiles beside the environment's build and start: on a fresh machine
# (empty Go build cache) that is minutes of work that needs none of it, and
# fills the CPUs while the build waits on downloads. go list -export
# compiles without linking; the go build and go test below then find the
# packages in the cache. (Cached: a few seconds.)
e2e_pkgs=(./runtime/engine/argo/ ./charts/ ./e2e/... ./cmd/kubeline/)
compile() {
	e2e_go list -deps -export ./cmd/kubeline ./cmd/kubeline-launch ./e2e/pause ./e2e/registry >/dev/null &&
		e2e_go list -tags e2e -test -deps -export "${e2e_pkgs[@]}" >/dev/null
}
background compile compile
phase build bash e2e/cluster.sh build
phase up bash e2e/cluster.sh up
eval "$(bash e2e/cluster.sh env)"
# Every test phase runs, even after one failed; make e2e fails if any did.
failed=0
phase smoke bash e2e/smoke.sh || failed=1
phase smoke-kwok bash e2e/smoke.sh --kwok || failed=1
joined compile || failed=1
# E2E_SKIP (a go test -skip pattern) leaves tests out;
# KUBELINE_E2E_PARITY_PYTHON=ci (.ci/run) runs only the Python corpus's
# ci: true cases (e2e/README.md, "Speed").
# -parallel: go test runs at most GOMAXPROCS (2 here) parallel tests and
# subtests at once by default, whatever TestParity's own limit
# (KUBELINE_E2E_PARITY_PARALLEL). The package's other real-node tests run
# beside TestParity's cases (t.Parallel), each holding one of go test's
# slots: hence 16 more (room for the nine now).
export KUBELINE_E2E_PARITY_PARALLEL="${KUBELINE_E2E_PARITY_PARALLEL:-8}"
# The three Go test phases run at once: their tests mostly wait on pods
# (the kubelet's 1 s relist, the controller), not on the CPUs, and each has
# namespaces and S3 servers of its own (e2e/README.md, "Speed").
background argo-engine gotest argo-engine -tags e2e -count=1 -timeout 45m -parallel "$((KUBELINE_E2E_PARITY_PARALLEL + 16))" ${E2E_SKIP:+-skip "$E2E_SKIP"} ./runtime/engine/argo/
background charts+argofake gotest charts -tags e2e -count=1 ./charts/ ./e2e/...
background server gotest server -tags e2e -count=1 -timeout 20m -run 'TestServerOnArgo|TestIDEOnArgo|TestRunsLandWhereSent|TestDeployAndImportAcrossClusters' ./cmd/kubeline/
joined charts+argofake || failed=1
joined server || failed=1
joined argo-engine || failed=1
exit "$failed"
