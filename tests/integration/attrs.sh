#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# attrs.sh - vaudit --attrs (the showattr -d stand-in): one line per ROOT
# and guest root, "buic" column then the lsattr letters then the path.
# Ground truth: the raw i_flags of each directory from debugfs; b/u/i/c
# upper case iff 0x04000000 / 0x08000000 / 0x10 / 0x20000000 is set.
# Offline (--image) and live on the loop-mounted image (2.6 bits read from
# the block device) must agree; live with --no-device-read shows '-' for
# the 2.6 letters.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd debugfs mke2fs losetup

W=$TEST_TMP

# expect_col IMG PATH: the buic column debugfs's raw flags give for PATH
expect_col() {
	local f
	f=$(raw_flags "$1" "$2")
	f=$((f))
	printf '%s%s%s%s' \
		"$( ((f & 0x04000000)) && echo B || echo b)" \
		"$( ((f & 0x08000000)) && echo U || echo u)" \
		"$( ((f & 0x10)) && echo I || echo i)" \
		"$( ((f & 0x20000000)) && echo C || echo c)"
}

for fs in ext2 ext4; do
	img=$(make_fixture "$fs" --v26) || bail_out "cannot build the $fs fixture"

	"$VAUDIT" --attrs --image "$img" --prefix /vservers >"$W/off" 2>"$W/off.err"
	is "$?" 0 "$fs: --attrs --image exits 0"
	is "$(head -1 "$W/off" | cut -d' ' -f3-)" "/vservers" "$fs: the first line is ROOT"
	n=0 bad=0
	while IFS=' ' read -r col letters path; do
		case $path in
		*\'*|*\$*) continue ;;   # quoted odd names: checked by the live comparison below
		esac
		n=$((n + 1))
		want=$(expect_col "$img" "$path")
		[ "$col" = "$want" ] || { bad=$((bad + 1)); diag "$path: $col, debugfs says $want"; }
	done <"$W/off"
	ok "$([ "$n" -ge 5 ] && [ "$bad" -eq 0 ]; echo $?)" "$fs: offline buic column matches debugfs ($n plain paths)"
	grep -q '^B' "$W/off"
	ok $? "$fs: ROOT or a guest root shows the 2.6 barrier as B"

	mnt=$(mount_fixture_ro "$img") || bail_out "cannot mount $img"
	"$VAUDIT" --attrs "$mnt/vservers" >"$W/live" 2>"$W/live.err"
	is "$?" 0 "$fs: --attrs live exits 0"
	sed "s|$mnt||" "$W/live" >"$W/live.rel"
	if cmp -s "$W/off" "$W/live.rel"; then ok 0 "$fs: live (block device) equals offline"; else
		ok 1 "$fs: live (block device) equals offline"; diff "$W/off" "$W/live.rel" | sed 's/^/# /'; fi
	"$VAUDIT" --attrs --no-device-read "$mnt/vservers" >"$W/nodev" 2>/dev/null
	is "$(cut -c1,2,4 "$W/nodev" | sort -u)" "---" "$fs: --no-device-read shows the 2.6 letters as unknown"
	is "$(cut -c3 "$W/nodev" | tr -d 'iI\n')" "" "$fs: --no-device-read still knows immutable"
	unmount_keep "$mnt"
done

"$VAUDIT" --attrs "$W/no-such-root" >/dev/null 2>"$W/err"
is "$?" 2 "--attrs on a missing ROOT exits 2"
is "$(wc -l <"$W/err")" 2 "one line for the missing ROOT (plus the syscall note)"

done_testing
