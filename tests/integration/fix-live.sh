#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fix-live.sh - vaudit --fix on a loop-mounted fixture (no vserver syscall
# on a mainline kernel): only the actions that change nothing but
# ext2-visible bits (0x8000, 0x10, the mode) are done -- legacy-notail and
# legacy-barrier below ROOT; everything needing a 2.6 bit is skipped with a
# message on stderr that points to --image, exit 1.  Checked with debugfs on
# the image (after sync + fsfreeze, and after unmounting): exactly the
# expected inodes changed, to the values the rules give, nothing else.  The
# journal says backend=live, the loop device's MAJ:MIN, the UUID and ROOT.
# --dry-run changes nothing; --undo JOURNAL (live) restores every inode;
# --plan then --fix --plan does the same as --fix; e2fsck -fn clean at the
# end.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd sha256sum fsfreeze
. "$top_srcdir/tests/integration/fixlib.sh"
need_fix

live_case() { # LABEL MKFIXTURE-OPTS...
	local label=$1 img mnt d root dev uuid ri
	shift
	d=$(mktemp -d "$W/live.XXXXXX")
	if ! img=$(make_fixture "$@" --size 16) || ! set_generations "$img"; then
		ok 1 "$label: build fixture"
		return
	fi
	dump "$img" "$d/before.json"
	uuid=$(img_uuid "$img")
	if ! mnt=$(mount_fixture "$img"); then
		ok 1 "$label: mount fixture"
		return
	fi
	root=$mnt/vservers
	ri=$(stat -c %i -- "$root")
	dev=$(mountpoint -d -- "$mnt")
	vrun audit --json "$root"
	cp "$W/audit.out" "$d/audit.json"
	python3 "$FT" expect --before "$d/before.json" --audit "$d/audit.json" --root-ino "$ri" --live \
		--out "$d/expect.json" >"$d/expect.txt"
	diag "$label: $(cat "$d/expect.txt")"
	nskip=$(python3 -c 'import json,sys; print(sum(e["skip"] for e in json.load(open(sys.argv[1]))["inodes"].values()))' "$d/expect.json")

	# ---- dry run
	flush_fs "$mnt"
	dump "$img" "$d/pre.json"
	vrun dry --fix --dry-run --journal "$d/dry.journal" "$root"
	rc_in "$RC" "1" "$label: live --fix --dry-run (some actions would be skipped)"
	flush_fs "$mnt"
	dump "$img" "$d/dry.json"
	py_checks python3 "$FT" compare --before "$d/pre.json" --after "$d/dry.json" --want old \
		--label "$label: after live --dry-run"

	# ---- the fix
	J=$d/fix.journal
	vrun fix --fix --journal "$J" "$root"
	is "$RC" 1 "$label: live --fix exits 1 (actions needing 2.6 bits skipped)" ||
		diag "stderr: $(head -c 1500 "$W/fix.err" | cat -v)"
	if [ "$nskip" -gt 0 ]; then
		grep -q -- '--image' "$W/fix.err"
		ok $? "$label: the skip message on stderr points to --image" || {
			diag "stderr: $(head -c 800 "$W/fix.err" | cat -v)"
			grep -q -- '--image' "$W/fix.out" &&
				diag "(stdout has it: $(grep -m1 -- '--image' "$W/fix.out" | head -c 300 | cat -v))"
		}
	fi
	grep -qF -- "vaudit: journal: $J" "$W/fix.err"
	ok $? "$label: stderr names the journal"
	flush_fs "$mnt"
	dump "$img" "$d/after.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/after.json" \
		--expect "$d/expect.json" --want new --label "$label: after live --fix (mounted, frozen and thawed)"
	py_checks python3 "$FT" journal --journal "$J" --before "$d/before.json" --expect "$d/expect.json" \
		--backend live --uuid "$uuid" --source "$root" --all-done --complete --label "$label live"
	if [ -s "$J" ]; then
		local jdev
		jdev=$(awk -F'\t' '$1 == "I" { print $3; exit }' "$J")
		is "$jdev" "$dev" "$label: journal intents name the device ($dev)"
	fi

	# ---- the kinds done live are gone, the others remain
	vrun audit1 --json "$root"
	local kinds left
	kinds=$(kinds_of "$W/audit1.out")
	left=$(has_any_kind "$kinds" "legacy-notail")
	is "$left" "" "$label: a new live audit shows no legacy-notail (kinds now: $kinds)"

	# ---- undo, live
	vrun undo --undo "$J" "$root"
	rc_in "$RC" 0 "$label: live --undo" || diag "stderr: $(head -c 1500 "$W/undo.err" | cat -v)"
	flush_fs "$mnt"
	dump "$img" "$d/undone.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/undone.json" --want old \
		--label "$label: after live --undo"

	# ---- fix again through a plan, unmount, debugfs on the unmounted image
	vrun plan --plan "$d/plan.jsonl" "$root"
	rc_in "$RC" "0 1" "$label: live --plan"
	py_checks python3 "$FT" plan --plan "$d/plan.jsonl" --before "$d/before.json" --expect "$d/expect.json" \
		--header live --uuid "$uuid" --source "$root" --label "$label: live plan"
	# between plan and fix, one planned file changes (chmod 0600): its item
	# must be refused, the others applied
	local victim=$root/g1/usr/bin/linked-outside vino
	vino=$(stat -c %i -- "$victim")
	chmod 0600 -- "$victim"
	python3 - "$d/expect.json" "$vino" "$d/expect2.json" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
t = e["inodes"][sys.argv[2]]
t["alts"] = [[t["old"][0], 0o600]]
t["either"] = False
json.dump(e, open(sys.argv[3], "w"))
EOF
	vrun fix2 --fix --plan "$d/plan.jsonl" --journal "$d/fix2.journal" "$root"
	is "$RC" 1 "$label: live --fix --plan (the 2.6 items and the changed item skipped)"
	grep -F -- "g1/usr/bin/linked-outside" "$W/fix2.err" | grep -vq '^done'
	ok $? "$label: live --fix --plan: the changed item is reported on stderr" ||
		diag "stderr: $(grep -F linked-outside "$W/fix2.err" "$W/fix2.out" | head -c 500 | cat -v)"
	unmount_keep "$mnt"
	dump "$img" "$d/after2.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/after2.json" \
		--expect "$d/expect2.json" --want new --label "$label: after live --fix --plan, unmounted"
	fsck_clean "$img" "$label: after live --fix"
}

live_case "ext4 --v26" ext4 --v26
live_case "ext3 (missing-barrier)" ext3
live_case "ext2 --v26 --root-barrier" ext2 --v26 --root-barrier

done_testing
