#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify-race.sh - a name never disappears, never reads short and never
# shows other bytes while vhashify links it, vhashify --revert gives it a
# private copy, or vaudit --undo takes either back.  Three guests of
# $VAUDIT_RACE_FILES (default 1500) files each, every file with a twin in
# the two other guests, on a loop-mounted ext4 image; two reader processes
# (unifytest.py reader, one forwards, one backwards) open every name by
# path and read it whole, over and over, during every run and once more
# after it, comparing with the content the fixture gave it: any ENOENT,
# short read or wrong byte is a failure.  Iterations: link, undo (three
# times); link, revert, undo the revert, revert again, undo both.  After
# every run: the state the ground truth says, no NAME;XXXXXX left.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs chattr losetup mount umount mountpoint fsfreeze timeout find truncate
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

: "${VAUDIT_RACE_FILES:=1500}"
N=$VAUDIT_RACE_FILES

race_fixture race "$N"

# phase TAG DESC CMD...: CMD with two readers running; its exit status, the
# readers' failures (none allowed; CONTROL=1: some required), no temporary
# names
phase() {
	local tag=$1 desc=$2 i pids=() t res
	shift 2
	rm -f -- "$W/stop" "$W/ready".* "$W/reader".*
	for i in 1 2; do
		local dir=()
		[ "$i" = 2 ] && dir=(--reverse)
		python3 "$UT" reader --mnt "$M" --n "$N" --stop "$W/stop" --ready "$W/ready.$i" \
			--out "$W/reader.$i" "${dir[@]}" --limit 900 2>"$W/reader.$i.err" &
		pids+=($!)
	done
	for ((t = 0; t < 300; t++)); do
		[ -e "$W/ready.1" ] && [ -e "$W/ready.2" ] && break
		sleep 0.1
	done
	urun "$tag" "$@"
	: >"$W/stop"
	for i in "${pids[@]}"; do
		wait "$i"
	done
	rc_is "$tag" 0 "$desc"
	res=$(python3 - "$W/reader.1" "$W/reader.2" <<'EOF'
import json, sys
tot = {'passes': 0, 'reads': 0, 'failures': 0}
ex = []
for f in sys.argv[1:]:
    try:
        r = json.load(open(f))
    except (OSError, ValueError) as e:
        print('broken reader result %s: %s' % (f, e))
        sys.exit(0)
    for k in tot:
        tot[k] += r[k]
    ex += r['examples']
print('%d %d %d' % (tot['passes'], tot['reads'], tot['failures']))
for e in ex[:10]:
    print(e)
EOF
)
	local first=${res%%$'\n'*} p r f
	read -r p r f <<<"$first"
	if [ "${CONTROL-0}" = 1 ]; then
		if [ "${f:-0}" -gt 0 ] 2>/dev/null; then
			ok 0 "$desc: the readers see it: $f failures in $r reads"
			diag "e.g. $(printf '%s\n' "$res" | sed -n 2p)"
		else
			ok 1 "$desc: the readers do not see it ($first): they would miss a non-atomic replacement"
		fi
		return
	fi
	if [ "${f-x}" = 0 ] && [ "${p:-0}" -ge 4 ]; then
		ok 0 "$desc: concurrent readers: $p passes, $r reads, no ENOENT, no short read, no wrong byte"
	else
		ok 1 "$desc: concurrent readers: $first (passes reads failures)"
		diag "$res"
		[ -s "$W/reader.1.err" ] && diag "$(head -c 1000 "$W/reader.1.err")"
	fi
	no_tmp "$M" "$desc"
}

link_check() { # LABEL BEFORE AFTER JOURNAL
	py_checks python3 "$UT" check-run --aggregate --label "$1" --spec "$S" --mnt "$M" --copies "$C" \
		--scenario all --before "$W/state.$2" --after "$W/state.$3" --flags immutable
}

# control: the readers must notice util-vserver's way of replacing a name
# (rename it away, link the new inode to it): for a moment the name is
# missing
CONTROL=1 phase control "control: a non-atomic rename-away-then-link of every g1 name, 5 times" \
	python3 -c '
import os, sys, time
root = sys.argv[1]
names = []
for d, _, fs in os.walk(root):
    names += [os.path.join(d, f) for f in fs]
for _ in range(5):
    for p in names:
        os.rename(p, p + ".ctl")
        time.sleep(0.0002)
        os.link(p + ".ctl", p)
        os.unlink(p + ".ctl")
' "$M/vs/g1"
state "$M" control
chk_orig "control: the names are back" "$S" "$M" "$C" orig control

pre=orig
for it in 1 2 3; do
	J=$W/link$it.journal
	phase link$it "iteration $it: vhashify links 3 x $N files" \
		"$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
	state "$M" link$it
	link_check "iteration $it: vhashify" "$pre" link$it
	phase undo$it "iteration $it: vaudit --undo" "$VAUDIT" --undo "$J" "$M"
	state "$M" undo$it
	chk_orig "iteration $it: after --undo" "$S" "$M" "$C" orig undo$it
	pre=undo$it
done

J=$W/link4.journal
phase link4 "vhashify links again" "$VHASHIFY" $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
state "$M" link4
link_check "vhashify (4)" "$pre" link4
JR=$W/revert1.journal
phase revert1 "vhashify --revert g1 g2 g3" "$VHASHIFY" --revert --destination "$H" $FL $NP --journal "$JR" -- \
	"$M/vs/g1" "$M/vs/g2" "$M/vs/g3"
state "$M" revert1
py_checks python3 "$UT" check-revert --label "vhashify --revert" --spec "$S" --mnt "$M" --copies "$C" \
	--before "$W/state.link4" --after "$W/state.revert1" --reverted vs/g1 vs/g2 vs/g3 --store .hash --no-atime
phase unrevert1 "vaudit --undo of the revert" "$VAUDIT" --undo "$JR" "$M"
state "$M" unrevert1
link_check "revert undone" "$pre" unrevert1
JR2=$W/revert2.journal
phase revert2 "vhashify --revert again" "$VHASHIFY" --revert --destination "$H" $FL $NP --journal "$JR2" -- \
	"$M/vs/g1" "$M/vs/g2" "$M/vs/g3"
state "$M" revert2
py_checks python3 "$UT" check-revert --label "vhashify --revert (2)" --spec "$S" --mnt "$M" --copies "$C" \
	--before "$W/state.unrevert1" --after "$W/state.revert2" --reverted vs/g1 vs/g2 vs/g3 --store .hash --no-atime
phase unrevert2 "vaudit --undo of the second revert" "$VAUDIT" --undo "$JR2" "$M"
phase unlink4 "vaudit --undo of the link" "$VAUDIT" --undo "$J" "$M"
state "$M" final
chk_orig "at the end" "$S" "$M" "$C" orig final

done_testing
