#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# resume-run.sh - vaudit --resume JOURNAL finishes the whole interrupted
# run, not only the changes its journal holds (issue 17, item 3).
#
# Four commands, each on its own copy of one ext4 image (3 guests,
# VAUDIT_RESUME_FILES files, legacy-iunlink and legacy-notail):
#
#   image        --fix --image IMG --prefix /vservers
#   image-plan   --fix --plan P --image IMG --prefix /vservers
#   live         --fix --only legacy-notail --no-config MNT/vservers
#   live-plan    --fix --plan P --no-config MNT/vservers
#
# (live: on a loop mount of the copy; a kernel without the vserver syscall
# repairs live only what needs no 2.6 bit, hence legacy-notail).  Each is
# run once uninterrupted (the reference) and VAUDIT_RESUME_RUNS times
# killed with SIGKILL (odd runs after a random delay in [0, 1.1 x the
# reference's duration], even runs once the journal has a random number of
# lines), then `--resume JOURNAL` alone (plus the ROOT it may act on, for
# live runs): exit 0, "N ... from the journal, M more", and every inode of
# the image, as debugfs stats it (flags, mode, generation, links, size,
# times, blocks), equal to the reference's.  Then --undo JOURNAL takes the
# whole run back (every inode as before the fix).
#
# Also: a resume killed in its turn is resumed again (the same end state,
# one --undo takes all back); --resume --dry-run of a killed run changes
# nothing and names both parts; a version 1 journal (the header without request=) resumes its own
# changes and says on stderr that the rest of the run is unknown; a
# forged request (valid base64 and checksum, bad text) is refused (exit 2,
# one line naming the journal, nothing changed); a plan edited after the
# kill is refused (exit 2, nothing changed), and --plan FILE names a plan
# that moved.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd sha256sum base64
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

: "${VAUDIT_RESUME_RUNS:=3}"
: "${VAUDIT_RESUME_FILES:=1500}"
diag "VAUDIT_RESUME_RUNS=$VAUDIT_RESUME_RUNS VAUDIT_RESUME_FILES=$VAUDIT_RESUME_FILES"
seed_random VAUDIT_RESUME_SEED
scratch vaudit-resume 768m

# ---- the image: 3 guests; every third file legacy-notail, the others legacy-iunlink
BASE=$S/base.img
build() {
	local mnt
	files_image "$BASE" "$VAUDIT_RESUME_FILES" 200 || return 1
	mnt=$(mount_fixture "$BASE") || return 1
	find "$mnt/vservers" -type f -exec chattr +t {} + &&
		find "$mnt/vservers" -type f -name 'f*[0369]' -exec chattr +i {} + || return 1
	unmount_keep "$mnt" || return 1
	or_raw_flags "$BASE" /vservers 0x04000000 && set_generations "$BASE"
}
build
ok $? "build an ext4 image with $VAUDIT_RESUME_FILES files to repair" || bail_out "cannot build the image"
fsck_clean "$BASE" "the base image"
dump "$BASE" "$W/before.json"

# same_inodes A.json B.json LABEL: every inode of both dumps equal, field by field
same_inodes() {
	python3 - "$1" "$2" "$3" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))['inodes']
b = json.load(open(sys.argv[2]))['inodes']
diff = [k for k in sorted(set(a) | set(b), key=int) if a.get(k) != b.get(k)]
for k in diff[:5]:
    print('# inode %s: %s\n#   vs %s' % (k, a.get(k), b.get(k)))
sys.exit(1 if diff or not a else 0)
EOF
	ok $? "$3 (every inode as debugfs stats it)"
}

# the command of variant V on image IMG (mounted at MNT for live ones)
ROOTARGS=()
cmd_of() { # V IMG MNT
	case $1 in
	image)      CMD=(--fix --image "$2" --prefix /vservers) ;;
	image-plan) CMD=(--fix --plan "$S/image.plan" --image "$2" --prefix /vservers) ;;
	live)       CMD=(--fix --only legacy-notail --no-config "$3/vservers") ;;
	live-plan)  CMD=(--fix --plan "$S/live.plan" --no-config "$3/vservers") ;;
	esac
	case $1 in
	image*) RES=(--image "$2") ;;
	live*)  RES=("$3/vservers") ;;
	esac
}

# the image's plan (a live plan names the mount's device: start() makes it)
vrun plan --plan "$S/image.plan" --image "$BASE" --prefix /vservers
rc_in "$RC" "0 1" "--plan of the image ($(($(wc -l <"$S/image.plan") - 1)) actions)"

# start V IMG: mount for live variants (sets MNT; the live plan is made on
# that mount: it names its device)
start() {
	MNT=
	case $1 in
	live*)
		MNT=$(mount_fixture "$2") || return 1
		if [ "$1" = live-plan ]; then
			rm -f -- "$S/live.plan"
			"$VAUDIT" --plan "$S/live.plan" --only legacy-notail --no-config "$MNT/vservers" \
				>/dev/null 2>"$W/lplan.err"
			[ -s "$S/live.plan" ] || { diag "live plan: $(head -c 300 "$W/lplan.err")"; return 1; }
		fi ;;
	esac
	return 0
}
snap() { # IMG OUT: every inode of IMG (on disk first when mounted)
	[ -n "$MNT" ] && flush_fs "$MNT"
	dump "$1" "$2"
}
stop() {
	if [ -n "$MNT" ]; then
		unmount_keep "$MNT"
		MNT=
	fi
}

for V in image image-plan live live-plan; do
	# ---- the reference: uninterrupted
	R=$S/$V-ref.img
	cp --sparse=always -- "$BASE" "$R"
	start "$V" "$R" || { ok 1 "$V: set up the reference"; continue; }
	cmd_of "$V" "$R" "$MNT"
	t0=$(date +%s%N)
	vrun ref "${CMD[@]}" --journal "$S/$V-ref.journal"
	t1=$(date +%s%N)
	DUR=$(((t1 - t0) / 1000))
	rc_in "$RC" 0 "$V: an uninterrupted run (took $((DUR / 1000)) ms)" ||
		diag "stderr: $(head -c 600 "$W/ref.err" | cat -v)"
	NI=$(grep -c '^I' "$S/$V-ref.journal")
	snap "$R" "$R.json"
	stop
	[ "$NI" -gt 100 ]
	ok $? "$V: the uninterrupted run changed $NI inodes"

	for ((run = 1; run <= VAUDIT_RESUME_RUNS; run++)); do
		C=$S/$V-$run.img
		J=$S/$V-$run.journal
		cp --sparse=always -- "$BASE" "$C"
		start "$V" "$C" || { ok 1 "$V run $run: set up"; continue; }
		cmd_of "$V" "$C" "$MNT"
		"$VAUDIT" "${CMD[@]}" --journal "$J" >"$W/k.out" 2>"$W/k.err" &
		pid=$!
		if [ $((run % 2)) -eq 1 ]; then
			delay=$(((RANDOM * 32768 + RANDOM) % (DUR * 11 / 10 + 1)))
			how="after $delay us"
			sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		else
			want=$((2 + (RANDOM * 32768 + RANDOM) % (2 * NI + 1)))
			how="at $want journal lines"
			while kill -0 "$pid" 2>/dev/null; do
				[ -e "$J" ] && [ "$(wc -l <"$J")" -ge "$want" ] && break
			done
		fi
		kill -9 "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		krc=$?
		nj=0
		[ -e "$J" ] && nj=$(grep -c '^I' "$J")
		diag "$V run $run: killed $how (exit $krc), $nj of $NI intents journaled"
		if [ ! -e "$J" ]; then
			# killed before the journal existed: nothing to resume
			snap "$C" "$C.json"
			stop
			same_inodes "$W/before.json" "$C.json" "$V run $run: killed before its journal, nothing changed"
			continue
		fi
		# a dry run first: changes nothing, speaks of both parts
		snap "$C" "$S/pre.json"
		vrun dry --resume "$J" "${RES[@]}" --dry-run
		snap "$C" "$S/post.json"
		same_inodes "$S/pre.json" "$S/post.json" "$V run $run: --resume --dry-run changes nothing (exit $RC)"
		grep -q 'from the journal, [0-9]* more' "$W/dry.err"
		ok $? "$V run $run: --resume --dry-run names both parts" || diag "stderr: $(tail -n 3 "$W/dry.err" | cat -v)"
		vrun res --resume "$J" "${RES[@]}"
		rc_in "$RC" 0 "$V run $run: --resume" || diag "stderr: $(tail -c 600 "$W/res.err" | cat -v)"
		line=$(grep 'from the journal' "$W/res.err")
		diag "  $line"
		case $line in
		*" from the journal, "*" more "*) ok 0 "$V run $run: --resume reports both counts" ;;
		*) ok 1 "$V run $run: --resume reports both counts" ;;
		esac
		grep -q '^vaudit: [0-9]* done, 0 skipped, 0 failed$' "$W/res.err"
		ok $? "$V run $run: the final summary line"
		snap "$C" "$C.json"
		same_inodes "$R.json" "$C.json" "$V run $run: after --resume, every inode as after the uninterrupted run"
		# one --undo takes the whole run back
		vrun und --undo "$J" "${RES[@]}"
		rc_in "$RC" 0 "$V run $run: --undo of the resumed journal" || diag "stderr: $(tail -c 400 "$W/und.err" | cat -v)"
		snap "$C" "$C.json"
		stop
		same_inodes "$W/before.json" "$C.json" "$V run $run: after --undo, every inode as before"
		fsck_clean "$C" "$V run $run: after --resume and --undo"
		rm -f -- "$C" "$C.json"
	done
	rm -f -- "$R"
done

# ---- a resume killed too: resumed again, still as the uninterrupted run
# kill_at_lines J N CMD...: run vaudit CMD in the background, SIGKILL it
# once J has N lines (or it ended)
kill_at_lines() {
	local j=$1 n=$2 pid
	shift 2
	"$VAUDIT" "$@" >/dev/null 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		[ -e "$j" ] && [ "$(wc -l <"$j")" -ge "$n" ] && break
	done
	kill -9 "$pid" 2>/dev/null
	{ wait "$pid"; } 2>/dev/null
}
cp --sparse=always -- "$BASE" "$S/rr.img"
cp --sparse=always -- "$BASE" "$S/rr-ref.img"
vrun rrref --fix --image "$S/rr-ref.img" --prefix /vservers --journal "$S/rr-ref.journal"
dump "$S/rr-ref.img" "$S/rr-ref.json"
n1=$((20 + RANDOM % 400))
kill_at_lines "$S/rr.journal" "$n1" --fix --image "$S/rr.img" --prefix /vservers --journal "$S/rr.journal"
n2=$(($(wc -l <"$S/rr.journal") + 20 + RANDOM % 800))
kill_at_lines "$S/rr.journal" "$n2" --resume "$S/rr.journal" --image "$S/rr.img"
diag "fix killed at $n1 journal lines, its resume at $n2: $(grep -c '^I' "$S/rr.journal") intents journaled"
vrun rr --resume "$S/rr.journal" --image "$S/rr.img"
rc_in "$RC" 0 "a resume killed too: --resume again" || diag "stderr: $(tail -c 400 "$W/rr.err" | cat -v)"
dump "$S/rr.img" "$S/rr.json"
same_inodes "$S/rr-ref.json" "$S/rr.json" "a resume killed too: after --resume, as the uninterrupted run"
vrun rrundo --undo "$S/rr.journal" --image "$S/rr.img"
rc_in "$RC" 0 "a resume killed too: --undo"
dump "$S/rr.img" "$S/rr.json"
same_inodes "$W/before.json" "$S/rr.json" "a resume killed too: after --undo, every inode as before"
rm -f -- "$S/rr.img" "$S/rr-ref.img"

# ---- a version 1 journal, a forged request, a changed plan (image runs)
C=$S/x.img
cp --sparse=always -- "$BASE" "$C"
kill_at_lines "$S/x.journal" 40 --fix --image "$C" --prefix /vservers --journal "$S/x.journal"
head -n 1 "$S/x.journal" | grep -q '^vaudit-journal	2	.*	request=' 
ok $? "the journal of --fix has a version 2 header with its request"
# with_header FILE OUT VERSION REQUEST-B64|"": a copy of FILE with another header (crc fixed)
with_header() {
	python3 - "$top_srcdir/tests/integration" "$@" <<'EOF'
import sys
sys.path.insert(0, sys.argv.pop(1))
from fixtest import crc32c  # noqa: E402
src, out, ver, req = sys.argv[1:5]
lines = open(src, 'rb').read().split(b'\n')
f = lines[0].rsplit(b'\tcrc=', 1)[0].split(b'\t')
f[1] = ver.encode()
f = f[:5] + ([b'request=' + req.encode()] if req else [])
h = b'\t'.join(f)
lines[0] = h + b'\tcrc=%08x' % crc32c(h)
open(out, 'wb').write(b'\n'.join(lines))
EOF
}
REQ=$(head -n 1 "$S/x.journal" | tr '\t' '\n' | sed -n 's/^request=//p' | base64 -d; echo x)
REQ=${REQ%x}
diag "request: $(printf '%s' "$REQ" | tr '\n' ';')"

# version 1: its own changes only, and it says so
cp --sparse=always -- "$C" "$S/v1.img"
with_header "$S/x.journal" "$S/v1.journal" 1 ""
nv1=$(grep -c '^I' "$S/v1.journal")
vrun v1 --resume "$S/v1.journal" --image "$S/v1.img"
rc_in "$RC" 0 "a version 1 journal: --resume"
grep -q 'rest of that run is unknown' "$W/v1.err"
ok $? "a version 1 journal: --resume says the rest of the run is unknown" || diag "stderr: $(tail -n 3 "$W/v1.err" | cat -v)"
vrun v1a --image "$S/v1.img" --prefix /vservers --json
nleft=$(grep -c '^{"record":"finding"' "$W/v1a.out")
ok "$( [ "$nleft" -gt 0 ]; echo $?)" "a version 1 journal: --resume did only its $nv1 intents ($nleft findings left)"

EXTRA=()
# forged requests: refused, one line naming the journal, exit 2, image unchanged
forge() { # TAG TEXT [ARGS]: a journal whose request is TEXT
	local tag=$1 text=$2
	shift 2
	with_header "$S/x.journal" "$S/$tag.journal" 2 "$(printf '%s' "$text" | base64 -w0)"
	set -- "$tag"
	sum=$(img_sum "$C")
	vrun "$1" --resume "$S/$1.journal" --image "$C" "${EXTRA[@]}"
	is "$RC" 2 "forged request ($1): --resume exits 2"
	one_line_naming "$S/$1.journal" "$1" "forged request ($1)"
	diag "  $(head -c 300 "$W/$1.err")"
	is "$(img_sum "$C")" "$sum" "forged request ($1): nothing changed"
}
forge badkind "${REQ/legacy-iunlink/legacy-nonsense}"
forge reorder "$(printf '%s' "$REQ" | sed '2{h;d};3{G}')"$'\n'
forge extra "${REQ}extra 1"$'\n'
forge badbool "${REQ/force 0/force 0x}"
forge nonl "${REQ%$'\n'}"
forge b64 "${REQ/prefix L3ZzZXJ2ZXJz/prefix L3ZzZXJ2ZXJz=}"
EXTRA=(--prefix /vservers)
forge outside "${REQ/prefix L3ZzZXJ2ZXJz/prefix Lw==}"
EXTRA=()
with_header "$S/x.journal" "$S/garbage.journal" 2 "!!notbase64"
vrun garbage --resume "$S/garbage.journal" --image "$C"
is "$RC" 2 "a request that is not base64: --resume exits 2"
one_line_naming "$S/garbage.journal" garbage "a request that is not base64"

# a plan changed since the run: refused; --plan names a plan that moved
C=$S/p.img
cp --sparse=always -- "$BASE" "$C"
cp -- "$S/image.plan" "$S/edit.plan"
kill_at_lines "$S/p.journal" 40 --fix --plan "$S/edit.plan" --image "$C" --prefix /vservers --journal "$S/p.journal"
sum=$(img_sum "$C")
sed -i '$d' "$S/edit.plan"
vrun pedit --resume "$S/p.journal" --image "$C"
is "$RC" 2 "a plan edited after the kill: --resume exits 2"
one_line_naming "$S/edit.plan" pedit "a plan edited after the kill"
is "$(img_sum "$C")" "$sum" "a plan edited after the kill: nothing changed"
mv -- "$S/edit.plan" "$S/edited.plan"
cp -- "$S/image.plan" "$S/moved.plan"
vrun pmoved --resume "$S/p.journal" --image "$C" --plan "$S/moved.plan"
rc_in "$RC" 0 "--resume --plan FILE: the plan moved"
dump "$C" "$C.json"
cp --sparse=always -- "$BASE" "$S/pref.img"
vrun pref --fix --plan "$S/image.plan" --image "$S/pref.img" --prefix /vservers --journal "$S/pref.journal"
dump "$S/pref.img" "$S/pref.json"
same_inodes "$S/pref.json" "$C.json" "--resume --plan FILE: as the uninterrupted run"

done_testing
