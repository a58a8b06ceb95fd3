#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# image-noroot.sh - the image audit, repair and undo need no root: the whole
# test runs as the unprivileged user 65534 (run as root, it starts itself
# again under setpriv; see run_unprivileged in tests/lib.sh), as
# e2fsprogs' own tests do.  Fixtures are built without a mount
# (mkfixture.sh --no-mount: mke2fs -d, then debugfs -w), and the ground
# truth comes from debugfs alone: raw i_flags, mode and link count per
# inode, names from a debugfs `ls -p` walk of the image
# (vatest.py groundtruth --mode image without --mount), every inode
# dumped before and after a repair (fixtest.py).
#
#   audit    ext2, ext3, ext4 --v26: vaudit --image --prefix /vservers and
#            --prefix / (--json) equal the ground truth; the text and -0
#            outputs name the same findings; the image is unchanged
#            (sha256); ext4 --v26 --root-barrier: legacy-barrier on ROOT,
#            g2/srv/oldbarrier and the guest root g5
#   repair   ext4 --v26, ext2 without --v26 (missing-barrier): --fix
#            --image changes exactly the target inodes to the values
#            fixtest.py computes from the rules, the journal (owned by
#            the unprivileged user) is complete and names the true old
#            state, e2fsck -fn is clean, a new audit shows none of the
#            kinds acted on; --undo JOURNAL --image IMG gives every inode
#            back its old state
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

run_unprivileged "$@"
need_unprivileged
need_vaudit
need_cmd python3 debugfs dumpe2fs mke2fs e2fsck sha256sum timeout
. "$top_srcdir/tests/integration/fixlib.sh"

VT=$top_srcdir/tests/integration/vatest.py

if [ "${VAUDIT_TEST_DROPPED-0}" = 1 ]; then
	is "$(id -u):$(id -g):$(id -G)" "$VAUDIT_TEST_UID:$VAUDIT_TEST_UID:$VAUDIT_TEST_UID" \
		"started as root, runs as uid and gid $VAUDIT_TEST_UID without other groups"
else
	ok 0 "runs unprivileged (uid $(id -u))"
fi

# ------------------------------------------------------------------ audit
audit_fs() { # FSTYPE
	local fs=$1 img o sum0 pfx
	if ! img=$(make_fixture "$fs" --v26 --size 16 --no-mount); then
		ok 1 "$fs: build --v26 --no-mount fixture as uid $(id -u)"
		return
	fi
	ok 0 "$fs: build --v26 --no-mount fixture as uid $(id -u)"
	o=$W/$fs
	sum0=$(img_sum "$img")
	for pfx in /vservers /; do
		vrun "$fs.json" --image "$img" --prefix "$pfx" --json
		py_checks python3 "$VT" groundtruth --mode image --image "$img" --prefix "$pfx" \
			--out "$W/$fs.json.out" --err "$W/$fs.json.err" --rc "$RC" \
			--vaudit "$VAUDIT" --label "$fs unprivileged"
	done
	vrun "$fs.noprefix" --image "$img" --json
	grep -q -- "audited from its root.*--prefix /vservers audits the guests in it" "$W/$fs.noprefix.err"
	ok $? "$fs: --image without --prefix on an image holding /vservers suggests --prefix /vservers" ||
		diag "$(cat "$W/$fs.noprefix.err")"
	vrun "$fs.j" --image "$img" --prefix /vservers --json
	cp -- "$W/$fs.j.out" "$o.img.json"
	vrun "$fs.txt" --image "$img" --prefix /vservers
	is "$RC" 1 "$fs: --image text output exits 1"
	py_checks python3 "$VT" textout --root /vservers --image "$img" --json "$o.img.json" \
		--text "$W/$fs.txt.out" --label "$fs --image, unprivileged"
	vrun "$fs.null" --image "$img" --prefix /vservers -0
	is "$RC" 1 "$fs: --image -0 exits 1"
	py_checks python3 "$VT" nullout --root /vservers --image "$img" --json "$o.img.json" \
		--null "$W/$fs.null.out"
	is "$(img_sum "$img")" "$sum0" "$fs: the image audits left the image unchanged (sha256)"
}

for fs in ext2 ext3 ext4; do
	audit_fs "$fs"
done

if img=$(make_fixture ext4 --v26 --root-barrier --size 16 --no-mount); then
	ok 0 "ext4 --v26 --root-barrier --no-mount: build fixture"
	vrun rb --image "$img" --prefix /vservers --json
	is "$RC" 1 "ext4 --root-barrier: --image exits 1"
	is "$(python3 "$VT" kinds "$W/rb.out" | grep -c -e '^missing-barrier$')" 0 \
		"ext4 --root-barrier: ROOT with both barriers is not missing-barrier"
	is "$(python3 "$VT" inos "$W/rb.out" | grep -c '^legacy-barrier ')" 3 \
		"ext4 --root-barrier: legacy-barrier on ROOT, g2/srv/oldbarrier and the guest root g5"
	py_checks python3 "$VT" groundtruth --mode image --image "$img" --prefix /vservers \
		--out "$W/rb.out" --err "$W/rb.err" --rc "$RC" --vaudit "$VAUDIT" \
		--label "ext4 --root-barrier unprivileged"
else
	ok 1 "ext4 --v26 --root-barrier --no-mount: build fixture"
fi

# ------------------------------------------------------------------ repair and undo
repair_case() { # LABEL MKFIXTURE-OPTS...
	local label=$1 img d ri uuid j kinds left
	shift
	d=$(mktemp -d "$W/case.XXXXXX")
	if ! img=$(make_fixture "$@" --size 16 --no-mount) || ! set_generations "$img"; then
		ok 1 "$label: build fixture ($*)"
		return
	fi
	ok 0 "$label: build fixture ($*)"
	ri=$(img_root_ino "$img" /vservers)
	uuid=$(img_uuid "$img")
	dump "$img" "$d/before.json" || { ok 1 "$label: debugfs dump"; return; }
	vrun audit0 --image "$img" --prefix /vservers --json
	rc_in "$RC" "1" "$label: audit before the repair"
	cp -- "$W/audit0.out" "$d/audit.json"
	python3 "$FT" expect --before "$d/before.json" --audit "$d/audit.json" --root-ino "$ri" \
		--out "$d/expect.json" >"$d/expect.txt"
	diag "$label: $(cat "$d/expect.txt")"

	j=$d/fix.journal
	vrun fix --fix --image "$img" --prefix /vservers --journal "$j"
	rc_in "$RC" "0" "$label: --fix --image as uid $(id -u)" || diag "stderr: $(head -c 1500 "$W/fix.err" | cat -v)"
	is "$(stat -c %u -- "$j" 2>/dev/null)" "$(id -u)" "$label: the journal was written by uid $(id -u)"
	fixed_as_expected "$label" "$img" "$d" "$j" "$uuid"
	vrun audit1 --image "$img" --prefix /vservers --json
	rc_in "$RC" "0 1" "$label: the audit after the repair runs"
	kinds=$(kinds_of "$W/audit1.out")
	left=$(has_any_kind "$kinds" "$DEFAULT_KINDS")
	is "$left" "" "$label: a new audit shows none of the kinds acted on (all kinds now: $kinds)"

	vrun undo --undo "$j" --image "$img"
	rc_in "$RC" "0" "$label: --undo JOURNAL --image as uid $(id -u)" ||
		diag "stderr: $(head -c 1500 "$W/undo.err" | cat -v)"
	dump "$img" "$d/undone.json"
	py_checks python3 "$FT" compare --before "$d/before.json" --after "$d/undone.json" \
		--want old --label "$label: after --undo"
	fsck_clean "$img" "$label: after --undo"
}

repair_case "ext4 --v26 unprivileged" ext4 --v26
repair_case "ext2 missing-barrier unprivileged" ext2

done_testing
