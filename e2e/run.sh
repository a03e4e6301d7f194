#!/usr/bin/env bash
# make e2e: build (cached) and start the e2e environment, run every
# e2e-tagged Go test and the smoke workflows against it, stop it whatever
# happened. Uses its own E2E_DIR and port base so it never meets a cluster
# someone else started.
set -euo pipefail
cd "$(dirname "$0")/.."
export E2E_DIR="${E2E_DIR:-$(mktemp -d /tmp/kubeline-e2e-run.XXXXXX)}"
export E2E_PORT_BASE="${E2E_PORT_BASE:-28000}"
bash e2e/cluster.sh build
trap 'bash e2e/cluster.sh down || true' EXIT
bash e2e/cluster.sh up
eval "$(bash e2e/cluster.sh env)"
export KUBELINE_E2E_KUBECONFIG="$KUBECONFIG"
go test -tags e2e -count=1 ./runtime/engine/argo/ ./charts/ ./e2e/...
go test -tags e2e -count=1 -run 'TestServerOnArgo|TestRunsLandWhereSent|TestDeployAndImportAcrossClusters' ./cmd/kubeline/
bash e2e/smoke.sh
