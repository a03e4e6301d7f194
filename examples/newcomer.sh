#!/usr/bin/env bash
# The first hour of a new user, as a test (`make test` runs it): the commands
# of every example's README, run as written from the repository root, and of
# every template's, run in the project `kubeline init NAME --template T`
# makes, with kubeline on PATH and a fresh KUBELINE_HOME (and no server,
# token or config from the caller) per README; afterwards `git status` must
# be what it was before — no plot, SVG or state left in the checkout.
#
# The READMEs start `kubeline server &` on its default address,
# 127.0.0.1:8888. As root the script runs them in a network namespace of
# their own (unshare), so another server on this machine is never met;
# otherwise port 8888 must be free. After a `kubeline server ... &` line it
# waits until the server answers, as a person would, and stops the README's
# background processes when the README is done. NEWCOMER_ONLY=NAME runs
# examples/NAME/README.md (or template NAME) alone.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${NEWCOMER_BIN:-}" ]; then
	work="$(mktemp -d)"
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/bin"
	go build -o "$work/bin/kubeline" ./cmd/kubeline
	export NEWCOMER_BIN="$work/bin"
	if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && command -v ip >/dev/null && unshare --net true 2>/dev/null; then
		status=0
		unshare --net bash -c 'ip link set lo up && exec bash "$0"' "$0" || status=$?
		exit $status
	fi
	echo "newcomer: not root (or no unshare/ip): running on this machine's network" >&2
fi

export PATH="$NEWCOMER_BIN:$PATH"
if curl -s -o /dev/null --max-time 2 http://127.0.0.1:8888/; then
	echo "newcomer: something answers on 127.0.0.1:8888, the address the READMEs' server takes; stop it first" >&2
	exit 1
fi

before="$(git status --porcelain 2>/dev/null || true)"

# commands README: the command lines of its shell blocks (```sh, ```bash,
# or an untagged block that starts with a kubeline or go command).
commands() {
	awk '
		/^```/ {
			if (inblock) { inblock = 0; next }
			tag = substr($0, 4)
			inblock = 1
			take = (tag == "sh" || tag == "bash" || tag == "shell") ? 1 : (tag == "" ? -1 : 0)
			next
		}
		inblock && take == -1 && NF > 0 { take = ($1 == "kubeline" || $1 == "go" || $1 == "bash") ? 1 : 0 }
		inblock && take == 1 { print }
	' "$1"
}

# run_readme README DIR LABEL [ENV...]: README's commands, run from DIR
# with a fresh KUBELINE_HOME (and ENV); its log is shown when one fails.
failed=0
run_readme() {
	local readme=$1 dir=$2 label=$3 cmds home script start
	shift 3
	cmds="$(commands "$readme")"
	[ -n "$cmds" ] || return 0
	home="$(mktemp -d)"
	script="$home/readme.sh"
	{
		echo 'set -euo pipefail'
		echo 'trap '"'"'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true'"'"' EXIT'
		echo 'wait_server() { for i in $(seq 1 600); do curl -sf -o /dev/null http://127.0.0.1:8888/apis/v2beta1/healthz && return 0; sleep 0.1; done; echo "the server did not answer" >&2; return 1; }'
		printf 'cd %q\n' "$dir"
		while IFS= read -r line; do
			[ -n "${line// /}" ] || continue
			printf 'printf "%%s\\n" %q\n' "\$ $line"
			printf '%s\n' "$line"
			case "$line" in kubeline\ server*\&*) echo 'wait_server' ;; esac
		done <<<"$cmds"
	} >"$script"
	start=$SECONDS
	if env -u KUBELINE_SERVER -u KUBELINE_TOKEN -u KUBELINE_CONTEXT KUBELINE_HOME="$home" KUBELINE_CONFIG="$home/config" "$@" \
		bash "$script" >"$home/log" 2>&1; then
		echo "newcomer: $label: $(grep -c '^\$ ' "$home/log") commands ok ($((SECONDS - start)) s)"
		rm -rf "$home"
	else
		echo "newcomer: $label FAILED; its commands and output:" >&2
		cat "$home/log" >&2
		failed=1
	fi
}

for readme in examples/${NEWCOMER_ONLY:-*}/README.md; do
	[ -f "$readme" ] && run_readme "$readme" "$PWD" "$readme"
done

# Every template, as `kubeline init` writes it: its README's commands run in
# the new project. The python-components template compiles its pipeline
# with the kfp SDK (`python3 pipeline.py`): ../shared/kfp-sdk on Debian's
# python3 stands in for `pip install kfp` (.ci/run installs its packages).
sdk="$(cd .. && pwd)/shared/kfp-sdk"
sdkenv=()
if [ -d "$sdk/kfp" ] && [ -x /usr/bin/python3 ]; then
	pybin="$(mktemp -d)"
	ln -s /usr/bin/python3 "$pybin/python3"
	sdkenv=(PYTHONPATH="$sdk" PYTHONDONTWRITEBYTECODE=1 PATH="$pybin:$PATH")
fi
for tmpl in templates/${NEWCOMER_ONLY:-*}/; do
	[ -f "$tmpl/README.md" ] || continue
	name="$(basename "$tmpl")"
	project="$(mktemp -d)/$name"
	if ! kubeline init "$project" --template "$name" >/dev/null; then
		echo "newcomer: kubeline init --template $name FAILED" >&2
		failed=1
		continue
	fi
	run_readme "$project/README.md" "$project" "${tmpl}README.md (in a project kubeline init made)" "${sdkenv[@]}"
	rm -rf "$(dirname "$project")"
done
[ -z "${pybin:-}" ] || rm -rf "$pybin"

after="$(git status --porcelain 2>/dev/null || true)"
if [ "$before" != "$after" ]; then
	echo "newcomer: the READMEs' commands changed the checkout (git status before/after):" >&2
	diff <(echo "$before") <(echo "$after") >&2 || true
	failed=1
fi
exit $failed
