#!/bin/bash
# setup.sh - set up a fresh Debian 12 machine for vaudit and run it.
#
#   ./setup.sh demo    install what is missing, build, build the demo host
#                      from testdata/ and audit it
#   ./setup.sh check   install what is missing, build, run every test and
#                      end with one line "N passed, N failed[, N skipped]"
#   ./setup.sh deps    only install what is missing
#   ./setup.sh build   deps + build
#
# Installing needs root (apt-get); everything else happens in this tree.
set -euo pipefail
cd "$(dirname "$0")"

DEPS=(build-essential autoconf automake autoconf-archive pkgconf
      libext2fs-dev comerr-dev libattr1-dev libncurses-dev libjson-c-dev check
      libssl-dev acl attr
      e2fsprogs util-linux mount squashfs-tools erofs-utils python3 python3-jsonschema tmux bfs jdupes rdfind rsync strace
      bash-completion zsh
      debhelper dpkg-dev fakeroot lintian man-db systemd logrotate ansible-core)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

deps() {
	local missing=() p
	for p in "${DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}): run as root to install them"
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
	deps
	if [ ! -x configure ] || [ configure.ac -nt configure ]; then
		autoreconf -fi
	fi
	if [ ! -f Makefile ] || [ configure -nt config.status ]; then
		./configure --enable-werror
	fi
	make -j"$(nproc)"
}

demo() {
	build
	[ "$(id -u)" -eq 0 ] || die "the demo loop-mounts an ext4 image: run as root"
	mkdir -p demo
	local m
	for m in demo/mnt demo/old; do
		if mountpoint -q "$m" 2>/dev/null; then
			chattr -R -i -a "$m" 2>/dev/null || true
			umount "$m"
		fi
	done
	rm -f demo/host.img demo/host.img.manifest demo/oldhost.img
	testdata/mkfixture.sh demo/host.img ext4 >/dev/null
	mkdir -p demo/mnt
	mount -o loop demo/host.img demo/mnt
	say "demo host mounted on $PWD/demo/mnt; guests in demo/mnt/vservers"
	say "running: ./vaudit demo/mnt/vservers"
	echo
	local rc=0
	./vaudit demo/mnt/vservers || rc=$?
	echo
	say "vaudit exited $rc (0 clean, 1 findings, 2 errors)"
	# an offline copy of a whole host: /etc/vservers and /vservers
	testdata/mkhost.sh demo/oldhost.img >/dev/null
	mkdir -p demo/old
	mount -o loop demo/oldhost.img demo/old
	say "an old host's root (configuration and guests) mounted on $PWD/demo/old"
	say "running: ./vaudit --list --host-root $PWD/demo/old"
	echo
	./vaudit --list --host-root "$PWD/demo/old" || true
	echo
	say "running: ./vaudit --host-root $PWD/demo/old"
	echo
	rc=0
	./vaudit --host-root "$PWD/demo/old" || rc=$?
	echo
	say "vaudit exited $rc"
	say "try: ./vaudit --json demo/mnt/vservers | head; ./vaudit -v --thorough demo/mnt/vservers"
	say "when done: umount demo/mnt demo/old"
}

# Count every TAP result of every test (unit and integration).
summary() {
	local pass fail skip results
	results=$(find . -name '*.trs' -not -path './vaudit-*' -exec cat {} + 2>/dev/null | grep '^:test-result:' || true)
	pass=$(grep -cE '^:test-result: (PASS|XFAIL)' <<<"$results" || true)
	fail=$(grep -cE '^:test-result: (FAIL|XPASS|ERROR)' <<<"$results" || true)
	skip=$(grep -cE '^:test-result: SKIP' <<<"$results" || true)
	if [ "$skip" -gt 0 ]; then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
}

check() {
	build
	local rc=0
	make -j"$(nproc)" check || rc=$?
	if [ $rc -ne 0 ]; then
		for f in $(find . -name '*.log' -path '*/tests/*' -o -name '*.log' -path '*/fuzz/*'); do
			grep -qE '^(not ok|ERROR|FAIL)' "$f" 2>/dev/null || continue
			echo "---- $f"; tail -n 40 "$f"
		done
	fi
	summary || rc=1
	return $rc
}

case "${1:-}" in
deps)  deps ;;
build) build ;;
demo)  demo ;;
check) check ;;
*)     sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
