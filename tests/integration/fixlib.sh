# shellcheck shell=bash disable=SC2154
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/integration/fixlib.sh - shared by the repair tests (fix-image.sh,
# fix-live.sh, crash.sh, plan.sh, journal-bad.sh, race.sh, running.sh).
# Source it after tests/lib.sh.
#
#   FT                   tests/integration/fixtest.py (dumps, rules, checks)
#   need_fix             skip_all unless root, vaudit knows --fix and the
#                        tools every repair test uses are there
#   need_fix_image       the same without root (image repairs: --no-mount
#                        fixtures, debugfs)
#   vrun TAG ARGS...     vaudit ARGS with a time limit; stdout in $W/TAG.out,
#                        stderr in $W/TAG.err, exit status in RC (a signal or
#                        timeout gives RC >= 124 and a diag)
#   rc_in RC LIST DESC   pass when RC is one of LIST ("0 1")
#   one_line_naming F TAG DESC   stderr of TAG is one line naming F
#   img_root_ino IMG PATH / img_uuid IMG / img_sum IMG
#   dump IMG OUT         every inode of IMG (debugfs) as JSON
#   fsck_clean IMG DESC  e2fsck -fn IMG succeeds
#   kinds_of JSONL       the kinds of an audit's JSON Lines, sorted, unique
#   set_generations IMG  give every regular file of the unmounted IMG a
#                        distinct nonzero generation (mke2fs -d leaves 0),
#                        so that generation checks mean something; fails
#                        unless e2fsck -fn is clean afterwards

FT=$top_srcdir/tests/integration/fixtest.py
W=$TEST_TMP
: "${VAUDIT_FIX_TIMEOUT:=60}"

need_fix() {
	need_root
	need_cmd chattr losetup
	need_fix_image
}

need_fix_image() {
	local err
	need_vaudit
	need_cmd python3 debugfs dumpe2fs mke2fs e2fsck timeout
	err=$("$VAUDIT" --fix --dry-run --image "$TEST_TMP/.no-such-image" 2>&1 >/dev/null)
	case $err in
		*"unrecognized option"* | *"unknown option"* | *"invalid option"*)
			skip_all "vaudit does not know --fix yet ($err)" ;;
	esac
}

vrun() {
	local tag=$1
	shift
	timeout -s KILL "$VAUDIT_FIX_TIMEOUT" "$VAUDIT" "$@" >"$W/$tag.out" 2>"$W/$tag.err"
	RC=$?
	if [ "$RC" -ge 124 ]; then
		diag "vaudit $* : killed or crashed (status $RC)"
		[ -s "$W/$tag.err" ] && diag "stderr: $(head -c 2000 "$W/$tag.err" | cat -v)"
	fi
	return 0
}

rc_in() {
	local rc=$1 list=$2 x
	shift 2
	for x in $list; do
		if [ "$rc" = "$x" ]; then
			ok 0 "$* (exit $rc)"
			return 0
		fi
	done
	ok 1 "$* (exit $rc, expected one of: $list)"
	return 1
}

# one_line_naming FILE TAG DESC: the stderr of run TAG is exactly one line,
# starting with "vaudit: " and naming FILE
one_line_naming() {
	local f=$1 tag=$2
	shift 2
	local n
	n=$(grep -c '' "$W/$tag.err")
	if [ "$n" -eq 1 ] && grep -q '^vaudit: ' "$W/$tag.err" && grep -qF -- "$f" "$W/$tag.err"; then
		ok 0 "$* : one line naming the file"
		return 0
	fi
	ok 1 "$* : one line naming the file ($n lines)"
	diag "stderr: $(head -c 1500 "$W/$tag.err" | cat -v)"
	return 1
}

img_root_ino() {
	run_debugfs -R "stat $2" -- "$1" 2>/dev/null | sed -n '1s/^Inode: \([0-9]*\).*/\1/p'
}

img_uuid() {
	dumpe2fs -h -- "$1" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p'
}

img_sum() {
	sha256sum <"$1" | cut -d' ' -f1
}

dump() {
	python3 "$FT" dump "$1" "$2"
}

fsck_clean() {
	local img=$1 out
	shift
	out=$(e2fsck -fn -- "$img" 2>&1)
	ok $? "$* : e2fsck -fn clean" || diag "$(printf '%s\n' "$out" | tail -n 15)"
}

# fixed_as_expected LABEL IMG DIR JOURNAL UUID: after --fix --image, the
# image holds exactly the expected changes (DIR/before.json, DIR/expect.json;
# DIR/after.json is written), is clean for e2fsck, and the journal names the
# image back end, UUID and IMG with every intent done.
fixed_as_expected() {
	local label=$1 img=$2 d=$3 j=$4 uuid=$5

	dump "$img" "$d/after.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/after.json" \
		--expect "$d/expect.json" --want new --label "$label: after --fix"
	fsck_clean "$img" "$label: after --fix"
	py_checks python3 "$FT" journal --journal "$j" --before "$d/before.json" --expect "$d/expect.json" \
		--backend image --uuid "$uuid" --source "$img" --all-done --complete --label "$label"
}

kinds_of() {
	python3 -c '
import json, sys
ks = set()
for l in open(sys.argv[1], "rb"):
    if l.strip():
        ks.add(json.loads(l).get("kind"))
print(" ".join(sorted(k for k in ks if k)))' "$1"
}

# has_any_kind "KINDS" "LIST": print the kinds of LIST found in KINDS
has_any_kind() {
	local k out=
	for k in $2; do
		case " $1 " in *" $k "*) out+="$k " ;; esac
	done
	printf '%s' "$out"
}

# shellcheck disable=SC2034 # used by the tests that source this file
DEFAULT_KINDS="legacy-iunlink legacy-notail legacy-barrier missing-barrier shared-immutable-no-iunlink"

set_generations() {
	local img=$1
	python3 "$FT" gencmds "$img" | run_debugfs -w -f - -- "$img" >/dev/null 2>&1
	e2fsck -fn -- "$img" >/dev/null 2>&1
}

# seed_random VAR: RANDOM seeded from $VAR, a new random seed when it is
# unset (diag names it, so that a failing run can be repeated)
seed_random() {
	local v=$1
	[ -n "${!v:-}" ] || printf -v "$v" '%s' "$((RANDOM * 32768 + RANDOM))"
	diag "$v=${!v}"
	RANDOM=${!v}
}

# scratch NAME SIZE: S=$W/shm, a tmpfs of SIZE where one can be mounted
# (unmounted at the end), else a directory on $W
scratch() {
	S=$W/shm
	mkdir -p "$S"
	if mount -t tmpfs -o "size=$2,mode=0700" "$1" "$S"; then
		defer umount "$S"
	else
		diag "no tmpfs: working on $W"
	fi
}

# files_image IMG N EVERY: an ext4 image IMG (1 KiB blocks) holding N small
# files f0, f1, ... in 3 guests below /vservers, a new directory every
# EVERY files; the caller sets their flags
files_image() {
	local img=$1 n=$2 every=$3 st=$W/staging g i per
	per=$(((n + 2) / 3))
	for g in g1 g2 g3; do
		mkdir -p "$st/vservers/$g"
		(
			cd "$st/vservers/$g" || exit 1
			for ((i = 0; i < per; i++)); do
				[ $((i % every)) -eq 0 ] && { mkdir -p "d$((i / every))" || exit 1; }
				printf '%s\n' "$i" >"d$((i / every))/f$i"
			done
		) || return 1
	done
	truncate -s 48M "$img" &&
		mke2fs -q -F -t ext4 -b 1024 -I 256 -N $((n + 1024)) -d "$st" -- "$img" >/dev/null &&
		rm -rf -- "$st"
}
