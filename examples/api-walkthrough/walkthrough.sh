#!/usr/bin/env bash
# The KFP API, the way a kfp client or the Pipelines UI uses it, against a
# kubeline server this script starts: upload a pipeline, create a run of its
# latest version, wait for it, list runs. Needs go, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

home=$(mktemp -d)
bin="$home/kubeline"
go build -o "$bin" ./cmd/kubeline
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
api="http://127.0.0.1:$port/apis/v2beta1"
KUBELINE_HOME="$home" "$bin" server --addr "127.0.0.1:$port" > "$home/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$home"' EXIT

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {'d': d}))" "$1"; }

for i in $(seq 1 100); do
  curl -sf "$api/healthz" >/dev/null && break
  sleep 0.1
done
echo "1. healthz: $(curl -sf "$api/healthz")"

pipeline=$(curl -sf -F "uploadfile=@examples/hello-params/pipeline.yaml" "$api/pipelines/upload?name=hello-params" | json 'd["pipeline_id"]')
echo "2. uploaded pipeline $pipeline"

experiment=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"display_name":"walkthrough"}' "$api/experiments" | json 'd["experiment_id"]')
echo "3. created experiment $experiment"

run=$(curl -sf -X POST -H 'Content-Type: application/json' -d "{
  \"display_name\": \"hello from the API\",
  \"experiment_id\": \"$experiment\",
  \"pipeline_version_reference\": {\"pipeline_id\": \"$pipeline\"},
  \"runtime_config\": {\"parameters\": {\"recipient\": \"API\"}}
}" "$api/runs" | json 'd["run_id"]')
echo "4. created run $run"

state=""
for i in $(seq 1 600); do
  state=$(curl -sf "$api/runs/$run" | json 'd["state"]')
  case $state in SUCCEEDED|FAILED|CANCELED) break ;; esac
  sleep 0.1
done
echo "5. run $run is $state"
[ "$state" = SUCCEEDED ] || { cat "$home/server.log"; exit 1; }

count=$(curl -sf "$api/runs?experiment_id=$experiment&page_size=5&sort_by=created_at%20desc" | json 'd["total_size"]')
echo "6. the experiment lists $count run(s)"
[ "$count" = 1 ]
echo "walkthrough: 1 passed, 0 failed"
