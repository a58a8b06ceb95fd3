# SPDX-License-Identifier: GPL-2.0-or-later
# tests/lib.sh - TAP helpers, deferred cleanup and image fixtures for the
# bash integration tests.  Source it from a bash test:
#
#     [ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
#     . "$top_srcdir/tests/lib.sh"
#
# TAP:      ok RC DESC | is GOT EXPECTED DESC | check DESC CMD... |
#           diag MSG | skip DESC REASON | skip_all REASON | bail_out REASON |
#           done_testing (prints the plan 1..N last)
# Guards:   need_root | need_vaudit | need_cmd CMD... | need_private_ns
#           (after sourcing tests/ns.sh: the test's own mount namespace)
# Users:    run_unprivileged "$@"  (as root: run this test again as the
#           unprivileged user 65534 and exit with its status; the tests
#           that need no mount call it first) | need_unprivileged (skip
#           unless not root by then)
# Cleanup:  defer CMD ARGS...  (run from the EXIT trap, last registered
#           first, even when the test fails or is interrupted; works from
#           subshells too, e.g. inside $(...))
# Scratch:  $TEST_TMP, a private mktemp -d directory removed on exit
#           (set VAUDIT_KEEP_TMP=1 to keep it for debugging; mounts are
#           still undone)
# Fixtures: make_fixture FSTYPE [--root-barrier] [--v26] [--size MiB]
#                        [--no-mount]             -> prints the image path
#                                                    (--no-mount: debugfs
#                                                    only, any user)
#           mount_fixture IMG                     -> prints the mountpoint
#           mount_fixture_ro IMG                  -> read-only loop device
#                                                    and mount, prints it
#           unmount_keep MNT                      -> unmount early
# Raw bits: raw_flags IMG SPEC | or_raw_flags IMG SPEC BITS  (debugfs)
#
# Nothing here touches a path outside $TEST_TMP.

if [ -z "${BASH_VERSION-}" ]; then
	echo "Bail out! tests/lib.sh needs bash"
	exit 99
fi

export LC_ALL=C
# no __pycache__ next to vatest.py in the source tree
export PYTHONDONTWRITEBYTECODE=1
unset CDPATH
umask 022

: "${top_srcdir:=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${VAUDIT:=$top_builddir/vaudit}"
export top_srcdir top_builddir VAUDIT

_t_n=0
_t_failed=0
_t_planned=0

# ------------------------------------------------------------------- TAP

# _t_desc TEXT: one line, no '#' (it would start a TAP directive)
_t_desc() {
	local d=$*
	d=${d//$'\n'/ }
	d=${d//'#'/}
	printf '%s' "$d"
}

# diag MSG...: print MSG as TAP comment lines
diag() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

# ok RC DESC: pass when RC is 0.  Returns RC.
ok() {
	local rc=$1
	shift
	_t_n=$((_t_n + 1))
	if [ "$rc" -eq 0 ] 2>/dev/null; then
		printf 'ok %d - %s\n' "$_t_n" "$(_t_desc "$*")"
		return 0
	fi
	_t_failed=$((_t_failed + 1))
	printf 'not ok %d - %s\n' "$_t_n" "$(_t_desc "$*")"
	return 1
}

# check DESC CMD...: run CMD, pass when it succeeds
check() {
	local desc=$1
	shift
	"$@"
	ok $? "$desc"
}

# is GOT EXPECTED DESC: string equality, with a diff as comments on failure
is() {
	local got=$1 exp=$2
	shift 2
	if [ "$got" == "$exp" ]; then
		ok 0 "$*"
		return 0
	fi
	ok 1 "$*"
	diag "$(diff -u --label expected --label got \
		<(printf '%s\n' "$exp") <(printf '%s\n' "$got") | cat -v)"
	return 1
}

# skip DESC REASON: a skipped test point
skip() {
	_t_n=$((_t_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_t_n" "$(_t_desc "$1")" "$(_t_desc "${2-}")"
}

# skip_all REASON: skip the whole script (only before the first test point)
skip_all() {
	_t_planned=1
	printf '1..0 # SKIP %s\n' "$(_t_desc "$*")"
	exit 0
}

# bail_out REASON: abort the whole run (automake reports an ERROR)
bail_out() {
	_t_planned=1
	printf 'Bail out! %s\n' "$(_t_desc "$*")"
	exit 99
}

# done_testing: print the plan; exit 0 if everything passed
done_testing() {
	_t_planned=1
	printf '1..%d\n' "$_t_n"
	[ "$_t_failed" -eq 0 ] || diag "$_t_failed of $_t_n test points failed"
	exit $((_t_failed == 0 ? 0 : 1))
}

# py_checks CMD...: run a helper that prints lines "ok<TAB>desc",
# "not ok<TAB>desc" or "#<TAB>comment"; turn them into TAP test points.
# The helper's own failure (crash, nonzero exit) is a failed test point.
py_checks() {
	local out rc line
	out=$(mktemp "$TEST_TMP/py.XXXXXX")
	"$@" >"$out" 2>"$out.err"
	rc=$?
	while IFS= read -r line; do
		case $line in
			"ok"$'\t'*)     ok 0 "${line#*$'\t'}" ;;
			"not ok"$'\t'*) ok 1 "${line#*$'\t'}" ;;
			"#"$'\t'*)      diag "${line#*$'\t'}" ;;
			*)              diag "$line" ;;
		esac
	done <"$out"
	if [ "$rc" -ne 0 ] || [ -s "$out.err" ]; then
		[ -s "$out.err" ] && diag "$(cat -v -- "$out.err")"
	fi
	ok "$rc" "helper ran: ${1##*/} ${2-} ${3-}"
}

# py_relay SCRIPT ARGS...: run the python helper SCRIPT, whose stdout is
# "ok - DESC", "not ok - DESC" and "# TEXT" lines, as test points of ours
py_relay() {
	local line
	while IFS= read -r line; do
		case $line in
		'ok '*) ok 0 "${line#ok - }" ;;
		'not ok '*) ok 1 "${line#not ok - }" ;;
		'# '*) diag "${line#\# }" ;;
		esac
	done < <(python3 "$@" 2>&1)
}

# ------------------------------------------------------------------- guards

need_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (loop mounts, chattr +i)"
}

# run_unprivileged ARGS...: as root, run this test script again (with
# ARGS) as uid/gid 65534 without supplementary groups (setpriv), and exit
# with its status; this process's $TEST_TMP is removed first.  PATH keeps
# only the directories that user can search.  Falls back to carrying on
# as root (with a TAP comment) when setpriv is missing or user 65534
# cannot read the test, the build or ${TMPDIR:-/tmp}.  Not root: returns.
# Call it right after sourcing this file, before any test point.
VAUDIT_TEST_UID=65534
run_unprivileged() {
	if [ "${VAUDIT_TEST_DROPPED-0}" = 1 ]; then
		diag "running as uid $(id -u) gid $(id -g) (started as root)"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || return 0
	local sp path why=
	sp=(setpriv --reuid="$VAUDIT_TEST_UID" --regid="$VAUDIT_TEST_UID" --clear-groups --)
	if ! command -v setpriv >/dev/null 2>&1; then
		why="setpriv not found"
	else
		path=$("${sp[@]}" bash -c 'IFS=:; for d in $1; do [ -d "$d" ] && [ -x "$d" ] && printf "%s:" "$d"; done' _ "$PATH" 2>/dev/null)
		path=${path%:}
		if ! "${sp[@]}" env PATH="$path" bash -c \
			'[ -r "$1" ] && [ -r "$2" ] && [ -x "$3" ] && [ -w "$4" ] && [ -x "$4" ] && command -v python3 >/dev/null' \
			_ "$0" "$top_srcdir/tests/lib.sh" "$VAUDIT" "${TMPDIR:-/tmp}" >/dev/null 2>&1; then
			why="user $VAUDIT_TEST_UID cannot read the test or the build, write ${TMPDIR:-/tmp} or find python3"
		fi
	fi
	if [ -n "$why" ]; then
		diag "running as root: $why"
		return 0
	fi
	# this process's scratch directory is not the child's
	rm -rf --one-file-system -- "$TEST_TMP"
	_t_planned=1
	trap - EXIT
	"${sp[@]}" env PATH="$path" HOME=/ VAUDIT_TEST_DROPPED=1 bash "$0" "$@"
	exit $?
}

need_unprivileged() {
	[ "$(id -u)" -ne 0 ] || skip_all "still root: user $VAUDIT_TEST_UID cannot run this test here"
}

# need_private_ns: the test runs in the private mount namespace tests/ns.sh
# made (else skip it), rid of its copies of other tests' mounts
need_private_ns() {
	[ "${VAUDIT_TEST_NS-}" = 1 ] || skip_all "cannot make a private mount namespace (unshare -m)"
	ns_release_foreign
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not found"
	done
}

need_vaudit() {
	[ -n "${VAUDIT-}" ] && [ -x "$VAUDIT" ] || skip_all "vaudit binary not built ('${VAUDIT-}')"
}

# ------------------------------------------------------------------- cleanup

TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vaudit-test.XXXXXX") || bail_out "mktemp -d failed"
# the change locks of the runs a test starts (core/lock.h) stay out of /run
# when the test is run by hand (make check sets its own)
: "${VAUDIT_LOCK_DIR:=$TEST_TMP/locks}"
export VAUDIT_LOCK_DIR
_T_DEFER=$TEST_TMP/.defer
: >"$_T_DEFER"
export TEST_TMP

# defer CMD ARGS...: run CMD ARGS at exit (LIFO).  Safe from subshells:
# the stack lives in a file in $TEST_TMP.
defer() {
	local q
	q=$(printf '%q ' "$@")
	printf '%s\n' "$q" >>"$_T_DEFER"
}

# _t_mounts_under DIR: mountpoints below DIR, deepest first
_t_mounts_under() {
	awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# _t_unmount MNT: clear i/a flags below MNT (errors ignored), unmount.
# The loop device is detached by its owner (mount_fixture's defer) or by
# the backing-file sweep in _t_cleanup, never by name alone.
_t_unmount() {
	local mnt=$1
	mountpoint -q -- "$mnt" || return 0
	# a signal between flush_fs's freeze and thaw leaves it frozen, and
	# chattr on a frozen filesystem waits forever: thaw first
	fsfreeze -u -- "$mnt" >/dev/null 2>&1
	chattr -R -f -i -a -- "$mnt" >/dev/null 2>&1
	umount -- "$mnt" 2>/dev/null || umount -l -- "$mnt" 2>/dev/null
	return 0
}

_t_cleanup() {
	local rc=$? cmds i m img dev
	set +e
	trap - EXIT
	# finish even if the TAP reader is gone or more signals arrive
	trap '' PIPE INT TERM HUP
	if [ -n "${TEST_TMP-}" ] && [ -d "$TEST_TMP" ]; then
		# deferred commands, last first
		if [ -s "$_T_DEFER" ]; then
			mapfile -t cmds <"$_T_DEFER"
			for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do
				eval "${cmds[$i]}" >/dev/null 2>&1
			done
		fi
		# safety net: anything still mounted below TEST_TMP
		while IFS= read -r m; do
			_t_unmount "$m"
		done < <(_t_mounts_under "$TEST_TMP")
		# loop devices still backed by our images
		while IFS= read -r img; do
			while IFS= read -r dev; do
				[ -n "$dev" ] && losetup -d "${dev%%:*}" >/dev/null 2>&1
			done < <(losetup -j "$img" 2>/dev/null)
		done < <(find "$TEST_TMP" -xdev -name '*.img' -type f 2>/dev/null)
		if [ -z "$(_t_mounts_under "$TEST_TMP")" ]; then
			if [ "${VAUDIT_KEEP_TMP-0}" = 1 ]; then
				printf '# kept %s\n' "$TEST_TMP"
			else
				chattr -R -f -i -a -- "$TEST_TMP" >/dev/null 2>&1
				chmod -R u+rwx -- "$TEST_TMP" >/dev/null 2>&1
				rm -rf --one-file-system -- "$TEST_TMP"
			fi
		else
			printf '# cleanup: %s still has mounts, not removed\n' "$TEST_TMP"
		fi
	fi
	if [ "$_t_planned" -eq 0 ]; then
		# died before done_testing: make the failure visible
		printf '# test script exited early (status %d)\n' "$rc"
		[ "$rc" -ne 0 ] || rc=99
	fi
	exit "$rc"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------------- fixtures

# make_fixture FSTYPE [OPTIONS]: build a fixture image in $TEST_TMP (the
# options are mkfixture.sh's: --root-barrier, --v26, --size MiB), print
# its path.  mkfixture's output goes to stderr as TAP comments.
make_fixture() {
	local d img out rc name o
	d=$(mktemp -d "$TEST_TMP/fixture.XXXXXX") || return 1
	name=$1
	for o in "${@:2}"; do
		name+=-${o#--}
	done
	img=$d/${name//[^A-Za-z0-9_.-]/_}.img
	out=$(bash "$top_srcdir/testdata/mkfixture.sh" "$img" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		printf '# mkfixture %s failed (%d): %s\n' "$*" "$rc" "$out" >&2
		return 1
	fi
	printf '%s\n' "$img"
}

# mount_fixture IMG: loop-mount IMG read-write on a new directory in
# $TEST_TMP, print the mountpoint; unmounted again at exit.
mount_fixture() {
	local img=$1 mnt dev
	mnt=$(mktemp -d "$TEST_TMP/mnt.XXXXXX") || return 1
	dev=$(losetup -f --show -- "$img") || return 1
	defer losetup -d "$dev"
	if ! mount -o rw -- "$dev" "$mnt"; then
		losetup -d "$dev"
		return 1
	fi
	defer _t_unmount "$mnt"
	printf '%s\n' "$mnt"
}

# ns_release_foreign: in a private mount namespace a test made, let go of
# its copies of the mounts of loop devices and of everything below $TMPDIR:
# the tests running beside it mount and unmount those, and a copy held here
# would keep such a filesystem alive (a remount after a shutdown would then
# find the old, shut-down one again).  Call it before mounting anything.
ns_release_foreign() {
	local t s
	findmnt -rn -o TARGET,SOURCE | sort -r | while read -r t s; do
		t=$(printf '%b' "$t")
		case $s in /dev/loop*) umount -l -- "$t" 2>/dev/null; continue ;; esac
		case $t in "${TMPDIR:-/tmp}"/*) umount -l -- "$t" 2>/dev/null ;; esac
	done
}

# mount_fixture_ro IMG: attach IMG to a read-only loop device and mount it
# read-only (ext3/ext4: without journal replay) on a new directory in
# $TEST_TMP; print the mountpoint.  Nothing can write to IMG through it.
mount_fixture_ro() {
	local img=$1 mnt dev
	mnt=$(mktemp -d "$TEST_TMP/mnt.XXXXXX") || return 1
	dev=$(losetup -r -f --show -- "$img") || return 1
	defer losetup -d "$dev"
	if ! mount -o ro -- "$dev" "$mnt"; then
		losetup -d "$dev"
		return 1
	fi
	defer _t_unmount "$mnt"
	printf '%s\n' "$mnt"
}

# flush_fs MNT: make the on-disk image current (journal checkpointed), so
# that debugfs on the image file sees changes made through the mount
flush_fs() {
	sync -f -- "$1" && fsfreeze -f -- "$1" && fsfreeze -u -- "$1"
}

# debugfs wrapper: never page, never write
run_debugfs() {
	DEBUGFS_PAGER=__none__ PAGER=__none__ debugfs "$@"
}

# unmount_keep MNT: unmount a fixture mounted by mount_fixture[_ro] early,
# without touching flags; its loop device stays attached (and is detached
# by the deferred losetup -d at exit, so no reused device number is ever
# detached by mistake)
unmount_keep() {
	sync -f -- "$1" 2>/dev/null
	umount -- "$1"
}

# raw_flags IMG SPEC: the raw i_flags (0x...) of SPEC (a path in the image
# or <INO>) as debugfs reads them from IMG
raw_flags() {
	run_debugfs -R "stat $2" -- "$1" 2>/dev/null |
		sed -n '1s/.*Flags: \(0x[0-9a-fA-F]*\).*/\1/p'
}

# or_raw_flags IMG SPEC BITS: OR BITS into the raw i_flags of SPEC in the
# unmounted image IMG (debugfs -w set_inode_field replaces the whole word,
# so the existing bits are read first); fails unless the result reads back
or_raw_flags() {
	local img=$1 spec=$2 bits=$3 old new
	old=$(raw_flags "$img" "$spec")
	[ -n "$old" ] || return 1
	new=$(printf '0x%08x' $((old | bits)))
	run_debugfs -w -R "set_inode_field $spec flags $new" -- "$img" >/dev/null 2>&1
	[ "$(($(raw_flags "$img" "$spec")))" -eq "$((new))" ]
}
