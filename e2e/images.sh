# Sourced by cluster.sh (function definitions only): the real node's
# images, built on this machine and served by e2e/registry, so that pods
# pull nothing from outside. See e2e/README.md, "Images".
#
#   base      Debian $BASE_SUITE by debootstrap (minbase: sh = dash, bash,
#             coreutils, mawk) + $BASE_PACKAGES; every image name a
#             pipeline uses (python:3.11, alpine, ...) gets this one
#   kubeline  base + the kubeline and kubeline-launch binaries of this
#             checkout, as the Dockerfile builds them (static, in
#             /usr/local/bin, uid 65532); the init container of every
#             compiled pod copies kubeline-launch into the pod
#   argoexec  base + Argo's executor at the controller's version
#   busybox   base + /bin/sh being bash: busybox's sh has [[ ]], dash has
#             not (a corpus pipeline on ghcr.io/containerd/busybox needs it)
#   jq        base + Debian's jq (the corpus's jetbrainsinfra/jq steps run it)
#   pause     the sandbox image: e2e/pause alone

BASE_SUITE="${BASE_SUITE:-bookworm}"
BASE_PACKAGES="${BASE_PACKAGES:-python3 python-is-python3}"
BASE_BIN="$E2E_CACHE/base-$BASE_SUITE"
# Names the images are served under (the registry answers every other name
# with the base image). The kubeline image answers to the compiler's default
# (ghcr.io/kubeline/kubeline:latest) too, so compiled workflows run as they are.
KUBELINE_IMAGE="${KUBELINE_IMAGE:-ghcr.io/kubeline/kubeline:e2e}"
ARGOEXEC_IMAGE="quay.io/argoproj/argoexec:$ARGO_VERSION"
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
# The Go flags of this checkout's binaries (with CGO_ENABLED=0); e2e/run.sh
# sets the same for the e2e tests it compiles, so that they share packages.
E2E_GOFLAGS="${E2E_GOFLAGS:--trimpath -gcflags=all=-dwarf=false}"

# debian_mirror: the archive apt uses here (its first deb source), so that
# debootstrap goes through the same mirror; $DEBIAN_MIRROR overrides.
debian_mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
	local u=""
	[ -f /etc/apt/sources.list.d/debian.sources ] &&
		u="$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | head -n 1)"
	[ -n "$u" ] || [ ! -f /etc/apt/sources.list ] ||
		u="$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(https\{0,1\}:[^ ]*\) .*/\2/p' /etc/apt/sources.list | head -n 1)"
	echo "${u:-http://deb.debian.org/debian}"
}

# build_base: the base rootfs as one uncompressed layer, $BASE_BIN/base.tar.
build_base() {
	local st="$BASE_SUITE minbase $BASE_PACKAGES"
	if is_built "$BASE_BIN" "$st"; then log "base image (debian $BASE_SUITE): built"; return; fi
	command -v debootstrap >/dev/null || die "the base image needs debootstrap (apt-get install debootstrap)"
	[ "$(id -u)" = 0 ] || die "debootstrap needs root"
	local mirror; mirror="$(debian_mirror)"
	log "base image: debootstrap $BASE_SUITE (minbase + $BASE_PACKAGES) from $mirror"
	local root="$E2E_CACHE/src/base-rootfs"
	rm -rf "$root"; mkdir -p "$root" "$BASE_BIN"
	if ! debootstrap --variant=minbase --include="${BASE_PACKAGES// /,}" "$BASE_SUITE" "$root" "$mirror" \
		>"$BASE_BIN/debootstrap.log" 2>&1; then
		tail -n 20 "$BASE_BIN/debootstrap.log" >&2
		die "debootstrap failed; its log: $BASE_BIN/debootstrap.log"
	fi
	# What an image leaves out: package caches and lists, documentation, and
	# what the runtime mounts (/dev, /proc, /sys, /run).
	rm -rf "${root:?}"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
		"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* \
		"$root"/dev/* "$root"/run/* "$root"/tmp/* "$root"/var/log/*.log "$root"/var/log/apt/*
	chmod 1777 "$root/tmp"
	tar --numeric-owner -C "$root" -cf "$BASE_BIN/base.tar" .
	rm -rf "$root"; rmdir "$E2E_CACHE/src" 2>/dev/null || true
	mark_built "$BASE_BIN" "$st"
	log "base image: $(du -m "$BASE_BIN/base.tar" | cut -f1) MB"
}

# build_jq: Debian's jq and its libraries (this host's apt sources, the
# base's suite) as one layer, $BASE_BIN/jq.tar, for the image a corpus
# pipeline names jetbrainsinfra/jq.
build_jq() {
	if [ -f "$BASE_BIN/jq.tar" ] && [ "$BASE_BIN/jq.tar" -nt "$BASE_BIN/base.tar" ]; then return; fi
	local d; d="$(mktemp -d)"
	mkdir -p "$d/debs" "$d/root"
	if ! (cd "$d/debs" && apt-get download jq libjq1 libonig5 >"$d/apt.log" 2>&1); then
		cat "$d/apt.log" >&2; rm -rf "$d"
		die "jq layer: apt-get download jq libjq1 libonig5 failed"
	fi
	local deb
	for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$d/root"; done
	rm -rf "$d/root/usr/share"
	layer "$d/root" "$BASE_BIN/jq.tar"; rm -rf "$d"
	log "jq layer: $(du -k "$BASE_BIN/jq.tar" | cut -f1) KB"
}

# layer DIR TAR: DIR's content as a layer (owned by root, except what the
# caller chowned).
layer() { tar --numeric-owner -C "$1" -cf "$2" .; }

# build_images: the layers that come from this checkout (kubeline, pause),
# the registry, and the image list it serves; into $E2E_DIR/images.
build_images() {
	local repo="$HERE/.." out="$E2E_DIR/images" st
	mkdir -p "$out" "$E2E_DIR/bin"
	log "images: building kubeline and kubeline-launch (static, as the Dockerfile does), pause and the registry"
	# One go build for the four (static: the registry and pause too), so
	# that their packages compile and the binaries link side by side.
	# $E2E_GOFLAGS: e2e/run.sh compiles its tests with the same flags.
	(cd "$repo" && CGO_ENABLED=0 GOFLAGS="$E2E_GOFLAGS" "$GO" build -trimpath -ldflags "-s -w -X main.version=e2e" \
		-o "$E2E_DIR/bin/" ./cmd/kubeline ./cmd/kubeline-launch ./e2e/pause ./e2e/registry)

	st="$(mktemp -d)"
	mkdir -p "$st/usr/local/bin" "$st/var/lib/kubeline" "$st/kubeline"
	install -m 0755 "$E2E_DIR/bin/kubeline" "$E2E_DIR/bin/kubeline-launch" "$st/usr/local/bin/"
	# As the Dockerfile: launcher steps in this image write /kubeline/out as 65532.
	chown 65532:65532 "$st/var/lib/kubeline" "$st/kubeline"
	layer "$st" "$out/kubeline.tar"; rm -rf "$st"

	st="$(mktemp -d)"
	install -m 0755 "$E2E_DIR/bin/pause" "$st/pause"
	layer "$st" "$out/pause.tar"; rm -rf "$st"

	st="$(mktemp -d)"
	mkdir -p "$st/usr/bin"
	ln -s bash "$st/usr/bin/sh"
	layer "$st" "$out/sh-bash.tar"; rm -rf "$st"

	build_jq

	if [ ! -f "$ARGO_BIN/argoexec.tar" ] || [ "$ARGO_BIN/argoexec" -nt "$ARGO_BIN/argoexec.tar" ]; then
		st="$(mktemp -d)"
		mkdir -p "$st/bin"
		install -m 0755 "$ARGO_BIN/argoexec" "$st/bin/argoexec"
		layer "$st" "$ARGO_BIN/argoexec.tar"; rm -rf "$st"
	fi

	local path='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"'
	cat >"$E2E_DIR/images.json" <<EOF
{
  "images": [
    {"names": ["$(repo_of "$KUBELINE_IMAGE")", "kubeline/kubeline:latest"],
     "layers": ["$BASE_BIN/base.tar", "$out/kubeline.tar"],
     "config": {"User": "65532:65532", "Env": [$path, "KUBELINE_HOME=/var/lib/kubeline"],
                "Entrypoint": ["kubeline"], "Cmd": ["server", "--addr", ":8888"], "WorkingDir": "/var/lib/kubeline"}},
    {"names": ["$(repo_of "$ARGOEXEC_IMAGE")"],
     "layers": ["$BASE_BIN/base.tar", "$ARGO_BIN/argoexec.tar"],
     "config": {"Env": [$path], "Entrypoint": ["argoexec"]}},
    {"names": ["$(repo_of "$PAUSE_IMAGE")"], "layers": ["$out/pause.tar"], "config": {"Entrypoint": ["/pause"]}},
    {"names": ["containerd/busybox:latest", "library/busybox:latest"],
     "layers": ["$BASE_BIN/base.tar", "$out/sh-bash.tar"], "config": {"Env": [$path], "Cmd": ["sh"]}},
    {"names": ["jetbrainsinfra/jq:latest"],
     "layers": ["$BASE_BIN/base.tar", "$BASE_BIN/jq.tar"], "config": {"Env": [$path], "Cmd": ["sh"]}}
  ],
  "default": {"names": [], "layers": ["$BASE_BIN/base.tar"], "config": {"Env": [$path], "Cmd": ["sh"]}}
}
EOF
	log "images: kubeline $(($(stat -c %s "$E2E_DIR/bin/kubeline") / 1024 / 1024)) MiB, kubeline-launch (what pods copy) $(($(stat -c %s "$E2E_DIR/bin/kubeline-launch") / 1024 / 1024)) MiB"
}

# repo_of IMAGE: the repository:tag the registry sees (no registry host).
repo_of() {
	case "$1" in */*) ;; *) echo "$1"; return ;; esac
	local first="${1%%/*}"
	case "$first" in
	*.* | *:* | localhost) echo "${1#*/}" ;;
	*) echo "$1" ;;
	esac
}
