# Sourced by cluster.sh (function definitions only): the real node. A
# kubelet (built with the control plane), containerd and runc (Debian
# packages), pods on a CNI bridge (Debian's containernetworking-plugins)
# whose gateway is this host's address for the pods, $E2E_HOST_IP: the
# apiserver, the kubelet and the tests' S3 server listen there. Everything
# the node makes lives under $E2E_DIR, the cgroup $CGROUP_ROOT and the bridge
# $BRIDGE, and `down` removes it. See e2e/README.md, "The real node".

CONTAINERD_SOCK="$E2E_DIR/containerd/containerd.sock"

# node_check: what the node needs from this machine.
node_check() {
	[ "$(id -u)" = 0 ] || die "the real node needs root (containerd, runc, cgroups, a bridge)"
	local b missing=()
	for b in containerd containerd-shim-runc-v2 runc ctr ip; do
		command -v "$b" >/dev/null || missing+=("$b")
	done
	[ -n "$(cni_bin_dir)" ] || missing+=("CNI plugins (bridge, host-local, loopback)")
	[ ${#missing[@]} = 0 ] || die "the real node needs: ${missing[*]} (apt-get install containerd runc containernetworking-plugins iproute2)"
}

cni_bin_dir() {
	local d
	for d in /usr/lib/cni /opt/cni/bin; do
		[ -x "$d/bridge" ] && [ -x "$d/host-local" ] && [ -x "$d/loopback" ] && { echo "$d"; return; }
	done
	return 0
}

cgroup_v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

# cgroup_dirs: $CGROUP_ROOT in every hierarchy: the one of cgroup v2, or
# each v1 hierarchy (and the hybrid "unified" one, where runc also puts
# containers).
cgroup_dirs() {
	if cgroup_v2; then echo "/sys/fs/cgroup$CGROUP_ROOT"; return; fi
	awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts | grep '^/sys/fs/cgroup/' |
		while read -r m; do echo "$m$CGROUP_ROOT"; done
}

cgroup_up() {
	local d
	for d in $(cgroup_dirs); do
		mkdir -p "$d"
		# A new v1 cpuset has no CPUs or memory nodes until given its parent's.
		if [ -f "$d/cpuset.cpus" ] && [ -z "$(cat "$d/cpuset.cpus")" ]; then
			cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
			cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
		fi
	done
	cgroup_weight
	if cgroup_v2; then
		local c want=""
		for c in $(cat "/sys/fs/cgroup/cgroup.subtree_control"); do want="$want +$c"; done
		[ -z "$want" ] || echo "$want" >"/sys/fs/cgroup$CGROUP_ROOT/cgroup.subtree_control"
	fi
}

# cgroup_weight: the CPU weight of the node's pods together,
# $E2E_NODE_CPU_SHARES (cgroup v1 cpu.shares; v2 cpu.weight = shares/1024*100).
# On a shared machine every other session weighs 1024 (the kernel's
# autogroups); left at 1024, all the node's pods together got what one
# other session gets (e2e/README.md, "Speed").
cgroup_weight() {
	local d
	for d in $(cgroup_dirs); do
		if [ -f "$d/cpu.shares" ]; then
			echo "$E2E_NODE_CPU_SHARES" >"$d/cpu.shares"
		elif [ -f "$d/cpu.weight" ]; then
			echo $((E2E_NODE_CPU_SHARES * 100 / 1024)) >"$d/cpu.weight"
		fi
	done
}

# cgroup_procs: every process in the node's cgroups (the pods' containers).
cgroup_procs() {
	local d
	for d in $(cgroup_dirs); do
		[ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -u
}

cgroup_down() {
	local d
	for d in $(cgroup_dirs); do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	for d in $(cgroup_dirs); do
		[ -d "$d" ] && log "warning: cgroup $d is left (processes in it: $(cat "$d"/cgroup.procs 2>/dev/null | tr '\n' ' '))"
	done
	return 0
}

net_up() {
	local prefix="${E2E_POD_SUBNET#*/}"
	ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
	ip addr replace "$E2E_HOST_IP/$prefix" dev "$BRIDGE"
	ip link set "$BRIDGE" up
}

net_down() {
	ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
	return 0
}

write_node_config() {
	mkdir -p "$E2E_DIR/containerd" "$E2E_DIR/cni/net.d" "$E2E_DIR/kubelet" "$E2E_DIR/pod-logs"
	cat >"$E2E_DIR/cni/net.d/10-kubeline-e2e.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "kubeline-e2e-$E2E_PORT_BASE",
  "plugins": [{
    "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {"type": "host-local", "dataDir": "$E2E_DIR/cni/ipam",
             "ranges": [[{"subnet": "$E2E_POD_SUBNET", "gateway": "$E2E_HOST_IP"}]]}
  }]
}
EOF
	cat >"$E2E_DIR/containerd/config.toml" <<EOF
version = 2
root = "$E2E_DIR/containerd/root"
state = "$E2E_DIR/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
# Go's pprof for containerd (ctr pprof --debug-socket ...; e2e/README.md, "Speed").
[debug]
  address = "$CONTAINERD_SOCK.debug"
[plugins."io.containerd.internal.v1.opt"]
  path = "$E2E_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # The kubelet asks for oom_score_adj -998 for sandboxes; lowering it needs
  # CAP_SYS_RESOURCE, which root lacks on some machines (this one): runc
  # then fails with "can't get final child's PID from pipe: EOF". Never
  # below containerd's own score instead.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$(cni_bin_dir)"
    conf_dir = "$E2E_DIR/cni/net.d"
  # Every registry's mirror is the local one (e2e/registry): nothing is
  # pulled from outside.
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."*"]
    endpoint = ["http://127.0.0.1:$REGISTRY_PORT"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:$REGISTRY_PORT"]
EOF
	cat >"$E2E_DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Kubernetes 1.35 refuses cgroup v1 unless told otherwise (e2e/README.md).
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
address: $E2E_HOST_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
podLogsDir: $E2E_DIR/pod-logs
resolvConf: /etc/resolv.conf
failSwapOn: false
serializeImagePulls: false
maxPods: 110
# A shared machine: never evict for pressure others cause, never collect images.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
syncFrequency: 10s
nodeStatusUpdateFrequency: 5s
EOF
}

# node_up: the bridge is up already (the apiserver listens on it); start
# the registry, containerd and the kubelet, wait for the node to be Ready.
node_up() {
	cgroup_up
	rm -rf "$E2E_DIR/containerd/root" "$E2E_DIR/containerd/state" "$E2E_DIR/cni/ipam" "$E2E_DIR/kubelet/pods"
	write_node_config
	start registry -- "$E2E_DIR/bin/registry" --addr "127.0.0.1:$REGISTRY_PORT" --images "$E2E_DIR/images.json"
	wait_for registry 60 curl -fsS "http://127.0.0.1:$REGISTRY_PORT/v2/"
	start containerd -- containerd --config "$E2E_DIR/containerd/config.toml" --log-level warn
	wait_for containerd 60 ctr --address "$CONTAINERD_SOCK" version
	start kubelet -- "$K8S_BIN/kubelet" --config "$E2E_DIR/kubelet/config.yaml" \
		--kubeconfig "$KUBECONFIG_PATH" --hostname-override "$NODE_NAME" --node-ip "$E2E_HOST_IP" \
		--root-dir "$E2E_DIR/kubelet" --cert-dir "$E2E_DIR/kubelet/pki" --v=1
	wait_for kubelet 120 curl -fsS "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
	wait_for kubelet 120 kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
	# GPUs for scheduling only (no device behind them): pipelines that ask
	# for nvidia.com/gpu are placed and run like any other.
	kc patch node "$NODE_NAME" --subresource=status --type=json \
		-p "[{\"op\": \"add\", \"path\": \"/status/capacity/nvidia.com~1gpu\", \"value\": \"$E2E_NODE_GPUS\"}]" >/dev/null
	wait_for kubelet 60 node_gpus
}

node_gpus() {
	[ "$(kc get node "$NODE_NAME" -o jsonpath='{.status.allocatable.nvidia\.com/gpu}')" = "$E2E_NODE_GPUS" ]
}

# node_down: the kubelet first, then every container (through containerd
# while it runs, else by its cgroup), containerd, the shims it left, the
# mounts under $E2E_DIR, the cgroups and the bridge.
node_down() {
	stop kubelet
	if [ -S "$CONTAINERD_SOCK" ] && ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; then
		local c t="ctr --address $CONTAINERD_SOCK -n k8s.io"
		for c in $($t tasks ls -q 2>/dev/null); do $t tasks kill -a -s SIGKILL "$c" >/dev/null 2>&1 || true; done
		for c in $($t tasks ls -q 2>/dev/null); do $t tasks delete -f "$c" >/dev/null 2>&1 || true; done
		for c in $($t containers ls -q 2>/dev/null); do $t containers delete "$c" >/dev/null 2>&1 || true; done
	fi
	local p
	for p in $(cgroup_procs); do kill -KILL "$p" 2>/dev/null || true; done
	stop containerd registry
	# Shims outlive containerd; they name its socket on their command line.
	for p in /proc/[0-9]*; do
		if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $CONTAINERD_SOCK "; then
			kill -KILL "${p#/proc/}" 2>/dev/null || true
		fi
	done
	# Mounts under $E2E_DIR (pod volumes, rootfs, shm, network namespaces),
	# deepest first.
	local m
	for m in $(awk -v d="$E2E_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: cannot unmount $m"
	done
	cgroup_down
	net_down
}
