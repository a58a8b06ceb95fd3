#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fix-image.sh - vaudit --fix --image, --undo and --dry-run on ext2/3/4
# fixtures (mkfixture.sh --v26, --root-barrier, without --v26 for
# missing-barrier), against debugfs ground truth.
#
# For each fixture: every inode is dumped with debugfs before (flags, mode,
# type, links, generation, size, owner, block map, mtime); the targets are
# taken from vaudit's own pre-fix audit (--image --json), the values they
# must get are computed by fixtest.py from the rules of the contract (see
# fixtest.py).  After `--fix --image IMG --prefix /vservers --journal J`:
# exit 0, exactly the target inodes changed, to exactly the computed values,
# nothing else changed in any inode; e2fsck -fn clean; the journal well
# formed (CRC32C per line, header with backend=image, the UUID and the
# source), every intent done and naming the true old state; a new audit
# shows none of the kinds acted on; a second --fix changes nothing.  Then
# `--undo J --image IMG`: every inode as before, e2fsck clean.  --dry-run
# changes nothing (sha256 of the image) and prints the actions.  Also:
# --only for the opt-in kinds, --barrier-mode, a mounted image refused
# (exit 2), undo skipping an inode whose generation changed, and undo of
# an inode already back in its old state.
#
# Only the mounted-image case needs root (a loop mount); the fixtures are
# built without one (mkfixture.sh --no-mount) and, started as root, the
# test runs itself again as the unprivileged user 65534 (run_unprivileged,
# tests/lib.sh), so that case is skipped here: image.sh, which needs root
# anyway, checks it.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

run_unprivileged "$@"
need_cmd sha256sum
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix_image

# fixture_copy DIR MKFIXTURE-OPTS...: FIXIMG=a fresh copy (DIR/fixture.img)
# of the fixture built once per option set
declare -A FIXTURES
fixture_copy() {
	local dir=$1 key
	shift
	key="$*"
	if [ -z "${FIXTURES[$key]-}" ]; then
		FIXTURES[$key]=$(make_fixture "$@" --size 16 --no-mount) || return 1
		set_generations "${FIXTURES[$key]}" || return 1
	fi
	cp --sparse=always -- "${FIXTURES[$key]}" "$dir/fixture.img" || return 1
	FIXIMG=$dir/fixture.img
}

# fix_case LABEL "MKFIXTURE OPTS" "FIX OPTS" "ONLY" "BARRIER MODE"
fix_case() {
	local label=$1 mkopts=$2 fixopts=$3 only=$4 bmode=$5
	local img ri uuid d j sum0 sum1 n kinds left
	d=$(mktemp -d "$W/case.XXXXXX")
	# shellcheck disable=SC2086
	if fixture_copy "$d" $mkopts; then
		img=$FIXIMG
	else
		ok 1 "$label: build fixture ($mkopts)"
		return
	fi
	ri=$(img_root_ino "$img" /vservers)
	uuid=$(img_uuid "$img")
	dump "$img" "$d/before.json" || { ok 1 "$label: debugfs dump"; return; }
	vrun audit0 --image "$img" --prefix /vservers --json ${only:+--only "$only"}
	cp "$W/audit0.out" "$d/audit.json"
	python3 "$FT" expect --before "$d/before.json" --audit "$d/audit.json" --root-ino "$ri" \
		${only:+--only "$only"} ${bmode:+--barrier-mode "$bmode"} --out "$d/expect.json" >"$d/expect.txt"
	diag "$label: $(cat "$d/expect.txt")"
	n=$(python3 -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1]))["inodes"].values() if e["alts"]!=[e["old"]]))' "$d/expect.json")

	# ---- dry run: nothing changes, the actions are printed
	sum0=$(img_sum "$img")
	vrun dry --fix --dry-run --image "$img" --prefix /vservers --journal "$d/dry.journal" $fixopts
	rc_in "$RC" "1" "$label: --fix --dry-run (something would change)"
	is "$(img_sum "$img")" "$sum0" "$label: --dry-run leaves the image unchanged (sha256)"
	local lines
	lines=$(cat "$W/dry.out" "$W/dry.err" | grep -vc '^vaudit: journal: ')
	if [ "$lines" -ge "$n" ]; then
		ok 0 "$label: --dry-run prints the actions ($lines lines for $n changes)"
	else
		ok 1 "$label: --dry-run prints the actions ($lines lines for $n changes)"
		diag "stdout: $(head -c 800 "$W/dry.out" | cat -v)"
		diag "stderr: $(head -c 800 "$W/dry.err" | cat -v)"
	fi
	[ -e "$d/dry.journal" ] && diag "$label: note: --dry-run created the journal file ($(grep -c '' "$d/dry.journal") lines)"

	# ---- the fix
	j=$d/fix.journal
	vrun fix --fix --image "$img" --prefix /vservers --journal "$j" $fixopts
	rc_in "$RC" "0" "$label: --fix --image" || diag "stderr: $(head -c 1500 "$W/fix.err" | cat -v)"
	grep -qF -- "vaudit: journal: $j" "$W/fix.err"
	ok $? "$label: stderr names the journal (vaudit: journal: PATH)" || diag "stderr: $(head -c 500 "$W/fix.err" | cat -v)"
	fixed_as_expected "$label" "$img" "$d" "$j" "$uuid"

	# ---- the kinds acted on are gone
	vrun audit1 --image "$img" --prefix /vservers --json
	kinds=$(kinds_of "$W/audit1.out")
	local acted=${only:+${only//,/ }}
	acted=${acted:-$DEFAULT_KINDS}
	acted=${acted//cow/}
	left=$(has_any_kind "$kinds" "$acted")
	is "$left" "" "$label: a new audit shows none of the kinds acted on (all kinds now: $kinds)"
	rc_in "$RC" "0 1" "$label: the new audit runs"

	# ---- a second fix finds nothing to do
	sum1=$(img_sum "$img")
	vrun fix2 --fix --image "$img" --prefix /vservers --journal "$d/fix2.journal" $fixopts
	rc_in "$RC" "0" "$label: a second --fix"
	is "$(img_sum "$img")" "$sum1" "$label: a second --fix changes nothing (sha256)"
	if [ -e "$d/fix2.journal" ]; then
		is "$(python3 "$FT" jinfo "$d/fix2.journal" | cut -d' ' -f1)" 0 "$label: the second journal has no intents"
	fi

	# ---- undo dry run, then undo
	vrun undodry --undo "$j" --image "$img" --dry-run
	rc_in "$RC" "1" "$label: --undo --dry-run (something would change)"
	is "$(img_sum "$img")" "$sum1" "$label: --undo --dry-run leaves the image unchanged (sha256)"
	vrun undo --undo "$j" --image "$img"
	rc_in "$RC" "0" "$label: --undo" || diag "stderr: $(head -c 1500 "$W/undo.err" | cat -v)"
	dump "$img" "$d/undone.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/undone.json" \
		--want old --label "$label: after --undo"
	fsck_clean "$img" "$label: after --undo"
	local ji
	ji=$(python3 "$FT" jinfo "$j")
	set -- $ji
	is "$3" "$1" "$label: --undo recorded a U record per intent ($1 intents)"
	py_checks python3 "$FT" journal --journal "$j" --label "$label: after --undo"
	# undo again: everything is already old
	sum1=$(img_sum "$img")
	vrun undo2 --undo "$j" --image "$img"
	rc_in "$RC" "0" "$label: --undo a second time"
	dump "$img" "$d/undone2.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/undone2.json" \
		--want old --label "$label: after a second --undo"
}

fix_case "ext2 --v26" "ext2 --v26" "" "" ""
fix_case "ext3 --v26" "ext3 --v26" "" "" ""
fix_case "ext4 --v26" "ext4 --v26" "" "" ""
fix_case "ext4 --v26 --root-barrier" "ext4 --v26 --root-barrier" "" "" ""
fix_case "ext3 --root-barrier --barrier-mode 0755" "ext3 --root-barrier" "--barrier-mode 0755" "" "0755"
fix_case "ext4 no --v26 (missing-barrier)" "ext4" "" "" ""
fix_case "ext2 missing-barrier --barrier-mode 0711" "ext2" "--barrier-mode 0711 --only missing-barrier,legacy-barrier" \
	"missing-barrier,legacy-barrier" "0711"
fix_case "ext4 --v26 --only opt-in kinds" "ext4 --v26" \
	"--only shared-unprotected,barrier-on-guest,iunlink-not-immutable" \
	"shared-unprotected,barrier-on-guest,iunlink-not-immutable" ""

# ---- a mounted image is refused, nothing changes
mkdir -p "$W/misc"
if fixture_copy "$W/misc" ext4 --v26; then
	img=$FIXIMG
	sum0=$(img_sum "$img")
	# cow and barrier-unverified are never acted on: --only cow either
	# does nothing (exit 0) or is refused as an error (exit 2, one line)
	for k in cow barrier-unverified; do
		vrun never --fix --only "$k" --image "$img" --prefix /vservers --journal "$W/never-$k.journal"
		rc_in "$RC" "0 2" "--fix --only $k: nothing to do or refused"
		[ "$RC" -eq 2 ] && one_line_naming "$k" never "--fix --only $k refused"
		is "$(img_sum "$img")" "$sum0" "--fix --only $k: the image is unchanged"
	done
	# a journal in a directory that does not exist: exit 2 before anything
	vrun nodir --fix --image "$img" --prefix /vservers --journal "$W/no/such/dir/j"
	is "$RC" 2 "--journal in a missing directory: exit 2"
	is "$(img_sum "$img")" "$sum0" "--journal in a missing directory: the image is unchanged"
	# an ext4 image whose journal needs recovery is refused
	cp --sparse=always -- "$img" "$W/misc/recover.img"
	run_debugfs -w -R "feature needs_recovery" -- "$W/misc/recover.img" >/dev/null 2>&1
	if dumpe2fs -h -- "$W/misc/recover.img" 2>/dev/null | grep -q needs_recovery; then
		sumr=$(img_sum "$W/misc/recover.img")
		vrun recover --fix --image "$W/misc/recover.img" --prefix /vservers --journal "$W/misc/recover.journal"
		is "$RC" 2 "an image whose ext4 journal needs recovery: --fix refused, exit 2"
		one_line_naming "$W/misc/recover.img" recover "an image whose ext4 journal needs recovery"
		is "$(img_sum "$W/misc/recover.img")" "$sumr" "an image whose ext4 journal needs recovery: unchanged"
	else
		skip "an image whose ext4 journal needs recovery" "debugfs could not set needs_recovery"
	fi
	if [ "$(id -u)" -ne 0 ]; then
		skip "mounted image: --fix --image refused" "needs root for the loop mount (image.sh checks it)"
	elif mnt=$(mount_fixture_ro "$img"); then
		vrun mounted --fix --image "$img" --prefix /vservers --journal "$W/mounted.journal"
		is "$RC" 2 "mounted image: --fix --image refused, exit 2"
		unmount_keep "$mnt"
		is "$(img_sum "$img")" "$sum0" "mounted image: unchanged (sha256)"
	else
		ok 1 "mounted image: mount read-only"
	fi

	# ---- undo: an inode whose generation changed is skipped and reported;
	# an inode already in its old state is left alone
	d=$W/gen
	mkdir -p "$d"
	dump "$img" "$d/before.json"
	vrun gfix --fix --image "$img" --prefix /vservers --journal "$d/j"
	rc_in "$RC" "0" "generation: --fix"
	regen=$(img_root_ino "$img" /vservers/g1/usr/bin/priv-iunlink)
	back=$(img_root_ino "$img" /vservers/g2/usr/bin/priv-iunlink)
	run_debugfs -w -R "set_inode_field <$regen> generation 4242" -- "$img" >/dev/null 2>&1
	oldf=$(python3 -c 'import json,sys; print("0x%08x" % json.load(open(sys.argv[1]))["inodes"][sys.argv[2]]["flags"])' "$d/before.json" "$back")
	run_debugfs -w -R "set_inode_field <$back> flags $oldf" -- "$img" >/dev/null 2>&1
	dump "$img" "$d/mid.json"
	vrun gundo --undo "$d/j" --image "$img"
	rc_in "$RC" "1" "generation: --undo with one inode's generation changed exits 1"
	grep -v '^done' "$W/gundo.out" "$W/gundo.err" | grep -q -- "g1/usr/bin/priv-iunlink"
	ok $? "generation: the skipped inode is reported by its path" ||
		diag "stdout: $(grep -v '^done' "$W/gundo.out" | head -c 800 | cat -v)" "stderr: $(head -c 800 "$W/gundo.err" | cat -v)"
	dump "$img" "$d/after.json"
	python3 - "$d/before.json" "$d/mid.json" "$d/after.json" "$regen" "$back" >"$W/gen.txt" <<'EOF'
import json, sys
b, m, a = (json.load(open(p))["inodes"] for p in sys.argv[1:4])
regen, back = sys.argv[4], sys.argv[5]
bad = []
for ino in b:
    want = m[ino] if ino == regen else b[ino]
    if ino == regen:
        want = dict(want)
    if (a[ino]["flags"], a[ino]["mode"]) != (want["flags"], want["mode"]):
        bad.append("inode %s: 0x%x/%o, want 0x%x/%o" % (ino, a[ino]["flags"], a[ino]["mode"], want["flags"], want["mode"]))
print("\n".join(bad[:10]))
EOF
	is "$(cat "$W/gen.txt")" "" "generation: everything restored except the regenerated inode, which keeps its new state"
	fsck_clean "$img" "generation: after --undo"
else
	ok 1 "build ext4 --v26 fixture for the mounted/generation cases"
fi

done_testing
