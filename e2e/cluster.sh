#!/usr/bin/env bash
# kubeline's e2e environment: a real Kubernetes control plane, one real node
# (kubelet, containerd, runc: pods run in containers), kwok's fake nodes for
# scale, and Argo Workflows' controller and executor, all built from the Go
# module proxy (and Debian's archive for the base image), reachable only from
# this machine. See e2e/README.md.
#
#   e2e/cluster.sh build [PART...]  build every binary and the base image into
#                           $E2E_CACHE (skips what is built); PART: base kubernetes argo
#   e2e/cluster.sh up       start the cluster; writes $E2E_DIR/kubeconfig
#   e2e/cluster.sh down     stop every process `up` started
#   e2e/cluster.sh status   what runs, and whether it answers
#   e2e/cluster.sh env      print the export lines for KUBECONFIG and PATH
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GO="${GO:-go}"

# Two Go builds make every binary, each in a wrapper module whose go.mod
# pins these versions (and stamps what it built): Kubernetes and etcd share
# one module (e2e/k8s), Argo and kwok the other (e2e/argo), so that each
# set of libraries compiles once.
K8S_VERSION=v1.35.4       # k8s.io/kubernetes; staging modules at v0.35.4 (e2e/k8s/go.mod)
ETCD_VERSION=v3.6.8       # go.etcd.io/etcd/server/v3 (e2e/k8s/go.mod, e2e/k8s/etcd)
KWOK_VERSION=v0.7.0       # sigs.k8s.io/kwok (e2e/argo/go.mod)
ARGO_VERSION=v3.7.9       # github.com/argoproj/argo-workflows/v3 (e2e/argo/go.mod; a patched copy of its module)

E2E_CACHE="${E2E_CACHE:-$HOME/.cache/kubeline-e2e}"
E2E_DIR="${E2E_DIR:-${TMPDIR:-/tmp}/kubeline-e2e}"
# Ports: on 127.0.0.1, except the apiserver's and the kubelet's, which the
# pods reach on $E2E_HOST_IP. Override to run two clusters side by side.
E2E_PORT_BASE="${E2E_PORT_BASE:-26000}"
ETCD_PORT=$((E2E_PORT_BASE + 379))         # etcd client
ETCD_PEER_PORT=$((E2E_PORT_BASE + 380))    # etcd peer
APISERVER_PORT=$((E2E_PORT_BASE + 443))    # kube-apiserver (https)
KCM_PORT=$((E2E_PORT_BASE + 257))          # kube-controller-manager (https, healthz)
SCHED_PORT=$((E2E_PORT_BASE + 259))        # kube-scheduler (https, healthz)
KWOK_PORT=$((E2E_PORT_BASE + 247))         # kwok (healthz/metrics)
ARGO_HEALTH_PORT=$((E2E_PORT_BASE + 60))   # workflow-controller healthz
KUBELET_PORT=$((E2E_PORT_BASE + 250))      # kubelet (https, on $E2E_HOST_IP)
KUBELET_HEALTHZ_PORT=$((E2E_PORT_BASE + 248))
REGISTRY_PORT=$((E2E_PORT_BASE + 500))     # e2e/registry, containerd's mirror
# The real node: its pods' subnet on bridge $BRIDGE, whose address
# $E2E_HOST_IP (the subnet's first) is this host as the pods see it; the
# cgroup its pods live under.
E2E_POD_SUBNET="${E2E_POD_SUBNET:-10.$((E2E_PORT_BASE / 1000 % 256)).0.0/24}"
E2E_HOST_IP="${E2E_POD_SUBNET%.*/*}.1"
BRIDGE="kubeline$E2E_PORT_BASE"
CGROUP_ROOT="/kubeline-e2e-$E2E_PORT_BASE"
NODE_NAME="${NODE_NAME:-e2e-node}"
E2E_NODE_GPUS="${E2E_NODE_GPUS:-8}"        # nvidia.com/gpu the real node advertises (nothing behind them)
# The CPU weight of all the node's pods together ($CGROUP_ROOT's cpu.shares;
# the kernel's default for a cgroup, and one session's, is 1024). 2048: the
# node's 2 CPUs, what the kubelet gives its kubepods (e2e/README.md).
E2E_NODE_CPU_SHARES="${E2E_NODE_CPU_SHARES:-2048}"
E2E_NAMESPACE="${E2E_NAMESPACE:-argo}"     # the controller's ConfigMap; it watches every namespace
E2E_NODES="${E2E_NODES:-2}"                # fake nodes (tainted: only pods that tolerate them go there)
# The fake pods' IPs: loopback, so that nothing could ever send traffic to a
# private range. (The fake nodes get no address at all, so the apiserver
# refuses exec/logs/port-forward at once instead of dialing a kubelet.)
E2E_POD_CIDR="${E2E_POD_CIDR:-127.16.0.1/16}"      # kwok's fake pods
# kube-controller-manager runs only what the e2e tests need: namespaces are
# deleted, pods of a deleted Workflow are collected, each namespace gets its
# default ServiceAccount (which pods need) and kube-root-ca.crt, and
# PersistentVolumeClaims are bound to hostPath volumes it makes under
# /tmp/hostpath_pv (--enable-hostpath-provisioner, StorageClass "standard":
# KFP workspaces and CreatePVC steps on the one real node).
KCM_CONTROLLERS="${KCM_CONTROLLERS:-namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,persistentvolume-binder-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller}"

K8S_BIN="$E2E_CACHE/k8s-$K8S_VERSION"       # and etcd
ARGO_BIN="$E2E_CACHE/argo-$ARGO_VERSION"    # and kwok
ETCD_BIN="$K8S_BIN"
KWOK_BIN="$ARGO_BIN"

# shellcheck source=e2e/images.sh
. "$HERE/images.sh"
# shellcheck source=e2e/node.sh
. "$HERE/node.sh"

# log goes to stderr, or to fd $LOG_FD: the build's parts send their own
# output to a file each but their log lines to the terminal.
log() { printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*" >&"${LOG_FD:-2}"; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- build

# A binary set is built when its directory has a .built stamp naming the
# version and the hash of the wrapper module that built it.
stamp_of() { # wrapper-dir version
	if [ -n "$1" ]; then
		echo "$2 $(cat "$HERE/$1/go.mod" "$HERE/$1/go.sum" 2>/dev/null | sha256sum | cut -c1-16)"
	else
		echo "$2"
	fi
}
is_built() { # bindir stamp
	[ -f "$1/.built" ] && [ "$(cat "$1/.built")" = "$2" ]
}
mark_built() { echo "$2" >"$1/.built"; }

# The binaries are stripped (-s -w), so the compiler need not write the
# DWARF that the linker would throw away: a tenth less compile time
# (e2e/README.md, "Speed").
GO_BUILD_FLAGS=(-gcflags=all=-dwarf=false)

# Kubernetes' five commands and etcd: one go build in e2e/k8s, sharing
# gRPC, protobuf, OpenTelemetry, Prometheus and zap.
build_k8s() {
	local st; st="$(stamp_of k8s "$K8S_VERSION etcd $ETCD_VERSION")"
	if is_built "$K8S_BIN" "$st"; then log "kubernetes $K8S_VERSION, etcd $ETCD_VERSION: built"; return; fi
	log "kubernetes $K8S_VERSION, etcd $ETCD_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, etcd"
	mkdir -p "$K8S_BIN"
	local v="$K8S_VERSION" minor; minor="$(echo "$v" | cut -d. -f2)"
	local ld="-s -w"
	for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ld="$ld -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
	done
	(cd "$HERE/k8s" && "$GO" build "${GO_BUILD_FLAGS[@]}" -ldflags "$ld" -o "$K8S_BIN/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet \
		./etcd)
	mark_built "$K8S_BIN" "$st"
}

# Argo's workflow-controller and argoexec, and kwok: one go build in a copy
# of e2e/argo (Kubernetes' client libraries at v0.33.1 for all three).
# Argo's healthz listener is hard-wired to ":6060" (every interface, with
# net/http/pprof on it), so Argo's module is copied and patched to listen on
# $ARGO_HEALTHZ_ADDR (default 127.0.0.1:6060), and the copy's go.mod
# replaces Argo with it (an -overlay may not replace module cache files).
# argoexec runs in every pod: static, as Argo's Makefile builds it.
build_argo() {
	local st; st="$(stamp_of argo "$ARGO_VERSION kwok $KWOK_VERSION") cgo=0"
	if is_built "$ARGO_BIN" "$st"; then log "argo $ARGO_VERSION, kwok $KWOK_VERSION: built"; return; fi
	log "argo $ARGO_VERSION, kwok $KWOK_VERSION: building workflow-controller, argoexec, kwok"
	local p=github.com/argoproj/argo-workflows/v3
	local dir; dir="$(cd "$HERE/argo" && "$GO" mod download -json "$p" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
	[ -d "$dir" ] || die "go mod download $p gave no directory"
	local src="$E2E_CACHE/src/argo-$ARGO_VERSION"
	rm -rf "$src"; mkdir -p "$src" "$ARGO_BIN/crds"
	cp "$HERE/argo/go.mod" "$HERE/argo/go.sum" "$src/"
	cp -r "$dir/." "$src/argo/"; chmod -R u+w "$src"
	local main="$src/argo/cmd/workflow-controller/main.go"
	grep -q 'http.ListenAndServe(":6060", nil)' "$main" || die "argo: healthz listener not found in $main"
	# argoexec's Linux signal code is a symlink in Argo's repository
	# (signal_linux.go -> signal_darwin.go); module zips drop symlinks.
	local os="$src/argo/workflow/executor/osspecific"
	[ -f "$os/signal_linux.go" ] || cp "$os/signal_darwin.go" "$os/signal_linux.go"
	sed -i 's|http.ListenAndServe(":6060", nil)|http.ListenAndServe(func() string { if a := os.Getenv("ARGO_HEALTHZ_ADDR"); a != "" { return a }; return "127.0.0.1:6060" }(), nil)|' "$main"
	(cd "$src" && "$GO" mod edit -replace "$p=./argo" && CGO_ENABLED=0 "$GO" build "${GO_BUILD_FLAGS[@]}" \
		-ldflags "-s -w -X $p.version=$ARGO_VERSION -X $p.gitTreeState=clean" \
		-o "$ARGO_BIN/" "$p/cmd/workflow-controller" "$p/cmd/argoexec" sigs.k8s.io/kwok/cmd/kwok)
	# Argo's minimal CRDs (no OpenAPI schema; what Argo's own dev setup uses).
	cp "$src"/argo/manifests/base/crds/minimal/argoproj.io_*.yaml "$ARGO_BIN/crds/"
	rm -rf "$src"; rmdir "$E2E_CACHE/src" 2>/dev/null || true
	mark_built "$ARGO_BIN" "$st"
}

# phase NAME FUNCTION: run one build step and say how long it took.
phase() {
	local t=$SECONDS
	"$2"
	log "phase $1: $((SECONDS - t))s"
}

# part NAME FUNCTION: build one part, its output (go's, debootstrap's) in
# $E2E_CACHE/logs/build-NAME.log, printed whole if it fails; its log lines
# and how long it took to the terminal.
part() {
	local t=$SECONDS out="$E2E_CACHE/logs/build-$1.log" rc=0
	mkdir -p "$E2E_CACHE/logs"
	# Started on its own, not as `(...) || rc=$?`: bash ignores set -e in
	# anything run on the left of a || (a failed go build would go on to
	# stamp the part built).
	(LOG_FD=4 "$2") >"$out" 2>&1 &
	wait "$!" || rc=$?
	if [ "$rc" != 0 ]; then
		cat "$out" >&2
		log "phase $1: FAILED after $((SECONDS - t))s (its output above; also in $out)"
		return "$rc"
	fi
	log "phase $1: $((SECONDS - t))s"
}

# cmd_build [PART...]: every part (base kubernetes argo), or those named.
# They build at once: the base image (debootstrap: the network and the
# disk) beside the two Go builds. A go build is CPU-bound only between its
# module downloads and its final links, so on two cores builds side by side
# fill each other's gaps (e2e/README.md, "Speed").
cmd_build() {
	local t0=$SECONDS p pids=() rc=0 parts="${*:-base kubernetes argo}"
	for p in $parts; do
		case "$p" in
		base | kubernetes | argo) ;;
		*) die "build: no part $p (base kubernetes argo)" ;;
		esac
	done
	exec 4>&2
	for p in $parts; do
		case "$p" in
		kubernetes) part kubernetes build_k8s & pids+=($!) ;;
		*) part "$p" "build_$p" & pids+=($!) ;;
		esac
	done
	for p in "${pids[@]}"; do wait "$p" || rc=1; done
	[ "$rc" = 0 ] || die "build failed (above: the part that failed, with its output)"
	log "build done in $((SECONDS - t0))s; binaries under $E2E_CACHE"
}

# ---------------------------------------------------------------- up

KUBECONFIG_PATH="$E2E_DIR/kubeconfig"
PKI="$E2E_DIR/pki"
PIDS="$E2E_DIR/pids"
LOGS="$E2E_DIR/logs"
COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler kwok registry containerd kubelet workflow-controller"

need_built() {
	local ok=1
	for b in "$ETCD_BIN/etcd" "$K8S_BIN/kube-apiserver" "$K8S_BIN/kube-controller-manager" \
		"$K8S_BIN/kube-scheduler" "$K8S_BIN/kubectl" "$K8S_BIN/kubelet" "$KWOK_BIN/kwok" \
		"$ARGO_BIN/workflow-controller" "$ARGO_BIN/argoexec"; do
		[ -x "$b" ] || { log "missing $b"; ok=0; }
	done
	[ -f "$BASE_BIN/base.tar" ] || { log "missing $BASE_BIN/base.tar"; ok=0; }
	[ "$ok" = 1 ] || die "run: e2e/cluster.sh build"
}

kc() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

# wait_for NAME SECONDS COMMAND...: retry COMMAND until it succeeds; fail when
# the component died or the time is up.
wait_for() {
	local name="$1" secs="$2"; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ -f "$PIDS/$name.pid" ] && ! alive "$(cat "$PIDS/$name.pid")"; then
			tail -n 30 "$LOGS/$name.log" >&2 || true
			die "$name exited; its log: $LOGS/$name.log"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			tail -n 30 "$LOGS/$name.log" >&2 || true
			die "$name not ready after ${secs}s; its log: $LOGS/$name.log"
		fi
		sleep 0.5
	done
}

# start NAME [ENV=VALUE...] -- BINARY ARGS...
start() {
	local name="$1"; shift
	local envs=()
	while [ "$1" != "--" ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
	echo $! >"$PIDS/$name.pid"
	log "$name started (pid $!)"
}

gen_pki() {
	# Made once per E2E_DIR (again if the apiserver's certificate lacks the
	# host address the pods use).
	if [ -f "$PKI/admin.crt" ] && openssl x509 -in "$PKI/apiserver.crt" -noout -text 2>/dev/null |
		grep -q "IP Address:$E2E_HOST_IP\(,\|\$\)"; then
		return
	fi
	rm -rf "$PKI"
	mkdir -p "$PKI"
	(
		cd "$PKI"
		openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
			-subj "/CN=kubeline-e2e-ca" 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
			-subj "/CN=kube-apiserver" 2>/dev/null
		printf '%s\n' "subjectAltName=IP:127.0.0.1,IP:$E2E_HOST_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1" \
			"extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >apiserver.ext
		openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile apiserver.ext -out apiserver.crt 2>/dev/null
		# The admin identity (group system:masters) that kubectl, the
		# controllers, kwok, Argo and the tests use.
		openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr \
			-subj "/O=system:masters/CN=kubeline-e2e-admin" 2>/dev/null
		printf '%s\n' "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature,keyEncipherment" >admin.ext
		openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile admin.ext -out admin.crt 2>/dev/null
		# Service-account token signing key.
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
		rm -f ./*.csr ./*.ext ./*.srl
	)
	log "certificates in $PKI"
}

write_kubeconfig() {
	cat >"$KUBECONFIG_PATH" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kubeline-e2e
  cluster:
    server: https://$E2E_HOST_IP:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: kubeline-e2e-admin
  user:
    client-certificate-data: $(base64 -w0 "$PKI/admin.crt")
    client-key-data: $(base64 -w0 "$PKI/admin.key")
contexts:
- name: kubeline-e2e
  context:
    cluster: kubeline-e2e
    user: kubeline-e2e-admin
    namespace: $E2E_NAMESPACE
current-context: kubeline-e2e
EOF
	chmod 600 "$KUBECONFIG_PATH"
}

running_pids() {
	local n
	for n in $COMPONENTS; do
		[ -f "$PIDS/$n.pid" ] && alive "$(cat "$PIDS/$n.pid")" && echo "$n"
	done
	return 0
}

cmd_up() {
	need_built
	node_check
	[ -z "$(running_pids)" ] || die "already up ($(running_pids | tr '\n' ' ')); run: e2e/cluster.sh down"
	local t0=$SECONDS
	mkdir -p "$E2E_DIR" "$PIDS" "$LOGS"
	rm -rf "$E2E_DIR/etcd-data" "$LOGS"/*.log
	# The images from this checkout first: a build error stops nothing.
	phase images build_images
	t0=$SECONDS
	# A failed `up` stops what it had started.
	trap 'rc=$?; if [ "$rc" != 0 ]; then log "up failed: stopping what it started"; cmd_down; fi' EXIT
	net_up
	gen_pki
	write_kubeconfig

	start etcd -- "$ETCD_BIN/etcd" --name e2e --data-dir "$E2E_DIR/etcd-data" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
		--unsafe-no-fsync --auto-compaction-retention=1 --quota-backend-bytes=$((2 * 1024 * 1024 * 1024)) --log-level=warn
	wait_for etcd 60 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

	start kube-apiserver -- "$K8S_BIN/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address "$E2E_HOST_IP" --advertise-address "$E2E_HOST_IP" --secure-port "$APISERVER_PORT" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
		--client-ca-file "$PKI/ca.crt" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
		--service-cluster-ip-range 10.96.0.0/16 \
		--authorization-mode Node,RBAC --endpoint-reconciler-type none \
		--kubelet-client-certificate "$PKI/admin.crt" --kubelet-client-key "$PKI/admin.key" \
		--kubelet-preferred-address-types InternalIP \
		--allow-privileged=true --profiling=false
	wait_for kube-apiserver 120 kc get --raw /readyz

	start kube-controller-manager -- "$K8S_BIN/kube-controller-manager" \
		--kubeconfig "$KUBECONFIG_PATH" \
		--authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
		--bind-address 127.0.0.1 --secure-port "$KCM_PORT" --leader-elect=false \
		--controllers "$KCM_CONTROLLERS" --enable-hostpath-provisioner \
		--root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
		--profiling=false
	start kube-scheduler -- "$K8S_BIN/kube-scheduler" \
		--kubeconfig "$KUBECONFIG_PATH" \
		--authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
		--bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false
	wait_for kube-controller-manager 60 curl -fsSk "https://127.0.0.1:$KCM_PORT/healthz"
	wait_for kube-scheduler 60 curl -fsSk "https://127.0.0.1:$SCHED_PORT/healthz"

	# kwok: fake nodes (those annotated kwok.x-k8s.io/node=fake) and their pods.
	cp "$HERE/kwok-stages.yaml" "$E2E_DIR/kwok.yaml"
	start kwok -- "$KWOK_BIN/kwok" --kubeconfig "$KUBECONFIG_PATH" --config "$E2E_DIR/kwok.yaml" \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
		--server-address "127.0.0.1:$KWOK_PORT" --node-lease-duration-seconds 40 \
		--cidr "$E2E_POD_CIDR" \
		--tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key"
	wait_for kwok 60 curl -fsS "http://127.0.0.1:$KWOK_PORT/healthz"
	local i
	for i in $(seq 1 "$E2E_NODES"); do
		kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
spec:
  # Only pods that ask for fake nodes go there (nodeSelector type: kwok
  # and this toleration); every other pod runs on the real node.
  taints:
  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
	done
	[ "$E2E_NODES" = 0 ] || wait_for kwok 60 kc wait --for=condition=Ready node -l type=kwok --timeout=1s

	# The real node.
	local tn=$SECONDS
	node_up
	log "real node $NODE_NAME Ready in $((SECONDS - tn))s"
	# The apiserver taints a new node not-ready:NoSchedule; kube-controller-manager's
	# node-lifecycle controller, which would lift it, does not run here.
	kc taint nodes --all node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true

	# Argo: its minimal CRDs, the namespace, the controller's ConfigMap.
	kc apply --server-side -f "$ARGO_BIN/crds/" >/dev/null
	kc wait --for=condition=Established crd --all --timeout=60s >/dev/null
	kc create namespace "$E2E_NAMESPACE" --dry-run=client -o yaml | kc apply -f - >/dev/null
	kc apply -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: workflow-controller-configmap
  namespace: $E2E_NAMESPACE
data:
  metricsConfig: |
    enabled: false
  # No Kubernetes Event for every node's and workflow's change: nothing here
  # reads them, and each is an apiserver write and an etcd entry
  # (e2e/README.md, "Speed").
  nodeEvents: |
    enabled: false
  workflowEvents: |
    enabled: false
  # Argo's init and wait containers reach the apiserver in-cluster; with no
  # kube-proxy here the kubernetes Service's address leads nowhere, so they
  # are given the apiserver's own address (the certificate names it).
  executor: |
    env:
    - {name: KUBERNETES_SERVICE_HOST, value: "$E2E_HOST_IP"}
    - {name: KUBERNETES_SERVICE_PORT, value: "$APISERVER_PORT"}
EOF
	# What Argo's executor does with the pod's ServiceAccount (Argo's
	# executor role), for every ServiceAccount: report outputs in
	# WorkflowTaskResults, read the artifact repository's credentials.
	kc apply -f - >/dev/null <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kubeline-e2e-executor}
rules:
- apiGroups: [argoproj.io]
  resources: [workflowtaskresults]
  verbs: [create, patch, get, list, watch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, watch, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kubeline-e2e-executor}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubeline-e2e-executor}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:serviceaccounts"}
---
# The default StorageClass (the name KFP's workspace asks for): hostPath
# volumes kube-controller-manager provisions, on the one real node.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/host-path
EOF
	start workflow-controller LEADER_ELECTION_DISABLE=true DEFAULT_REQUEUE_TIME=1s \
		ARGO_HEALTHZ_ADDR="127.0.0.1:$ARGO_HEALTH_PORT" -- \
		"$ARGO_BIN/workflow-controller" --kubeconfig "$KUBECONFIG_PATH" --namespace "$E2E_NAMESPACE" \
		--configmap workflow-controller-configmap \
		--executor-image "$ARGOEXEC_IMAGE" --loglevel info
	wait_for workflow-controller 60 curl -fsS "http://127.0.0.1:$ARGO_HEALTH_PORT/healthz"
	# Pods need the namespace's default ServiceAccount (kube-controller-manager makes it).
	wait_for kube-controller-manager 60 kc -n "$E2E_NAMESPACE" get serviceaccount default

	trap - EXIT
	log "up in $((SECONDS - t0))s; KUBECONFIG=$KUBECONFIG_PATH"
}

# ---------------------------------------------------------------- down

# alive PID: the process runs (a zombie does not count: PID 1 here reaps
# orphans only now and then, and kill -0 succeeds on a zombie).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	case "$(ps -o stat= -p "$1" 2>/dev/null)" in Z*) return 1 ;; esac
	return 0
}

# stop NAME...: SIGTERM to each at once, wait up to 10s, SIGKILL what is left.
stop() {
	local n pid pids=()
	for n in "$@"; do
		[ -f "$PIDS/$n.pid" ] || continue
		pid="$(cat "$PIDS/$n.pid")"
		if alive "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$n:$pid")
		fi
		rm -f "$PIDS/$n.pid"
	done
	local i any
	for i in $(seq 1 50); do
		any=0
		for n in "${pids[@]}"; do alive "${n#*:}" && any=1; done
		[ "$any" = 0 ] && break
		sleep 0.2
	done
	for n in "${pids[@]}"; do
		if alive "${n#*:}"; then
			log "${n%%:*} (pid ${n#*:}) ignored SIGTERM for 10s; SIGKILL"
			kill -KILL "${n#*:}" 2>/dev/null || true
		fi
		log "${n%%:*} stopped"
	done
}

cmd_down() {
	# The node before the control plane (its pods are stopped through
	# containerd, not deleted through the API); etcd last: a kube-apiserver
	# whose etcd is gone hangs on SIGTERM.
	stop workflow-controller kwok kube-scheduler kube-controller-manager
	node_down
	stop kube-apiserver
	stop etcd
	rm -rf "$E2E_DIR/etcd-data"
}

# ---------------------------------------------------------------- status

cmd_status() {
	local n pid up=0
	for n in $COMPONENTS; do
		if [ -f "$PIDS/$n.pid" ] && pid="$(cat "$PIDS/$n.pid")" && alive "$pid"; then
			printf '%-24s running  pid %-7s rss %s MB\n' "$n" "$pid" "$(($(ps -o rss= -p "$pid") / 1024))"
			up=$((up + 1))
		else
			printf '%-24s stopped\n' "$n"
		fi
	done
	if [ "$up" -gt 0 ]; then
		local total=0 p
		for p in $(cat "$PIDS"/*.pid 2>/dev/null); do total=$((total + $(ps -o rss= -p "$p" 2>/dev/null || echo 0))); done
		echo "total rss: $((total / 1024)) MB"
		echo "kubeconfig: $KUBECONFIG_PATH"
		kc get --raw /readyz >/dev/null 2>&1 && echo "kube-apiserver: ready" || echo "kube-apiserver: not ready"
		kc get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True &&
			echo "node $NODE_NAME: Ready" || echo "node $NODE_NAME: not ready"
		curl -fsS "http://127.0.0.1:$ARGO_HEALTH_PORT/healthz" >/dev/null 2>&1 && echo "workflow-controller: healthy" || echo "workflow-controller: not healthy"
	fi
	[ "$up" -eq "$(echo $COMPONENTS | wc -w)" ]
}

cmd_env() {
	echo "export KUBECONFIG=$KUBECONFIG_PATH"
	echo "export KUBELINE_E2E_KUBECONFIG=$KUBECONFIG_PATH"
	echo "export PATH=$K8S_BIN:\$PATH"
	# For the e2e tests: the address pods reach this host on (an S3 server
	# for pods listens there), and the kubeline binary of the images.
	echo "export KUBELINE_E2E_HOST_IP=$E2E_HOST_IP"
	echo "export KUBELINE_E2E_BIN=$E2E_DIR/bin/kubeline"
}

main() {
	case "${1:-}" in
	build) shift; cmd_build "$@" ;;
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	env) cmd_env ;;
	*) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
}

# One line, so that bash has read it whole before main runs: editing this file
# while a long `build` runs does not derail the running script.
main "$@"; exit $?
