#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# attrs.sh - vaudit --attrs (the showattr stand-in): one line per PATH and,
# for a directory, per entry (with -R per everything below it), "buic"
# column then the lsattr letters then the path (escaped).
# Ground truth: the raw i_flags of each entry from debugfs; b/u/i/c
# upper case iff 0x04000000 / 0x08000000 / 0x10 / 0x20000000 is set; the
# lsattr letters from lsattr -d on the mount; which entries from find.
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

	# the directory itself and each of its entries (files too): find says which
	is "$(wc -l <"$W/live")" "$(find "$mnt/vservers" -mindepth 0 -maxdepth 1 \( -type f -o -type d \) -printf x | wc -c)" \
		"$fs: --attrs DIR: the directory and each file and directory in it"

	# -R: everything below, live and offline alike, each line as debugfs says
	"$VAUDIT" --attrs -R "$mnt/vservers" >"$W/rlive" 2>"$W/rlive.err"
	is "$?" 0 "$fs: --attrs -R live exits 0"
	is "$(wc -l <"$W/rlive")" "$(find "$mnt/vservers" \( -type f -o -type d \) -printf x | wc -c)" \
		"$fs: --attrs -R: one line per regular file and directory below ROOT (find)"
	is "$(head -1 "$W/rlive")" "$(head -1 "$W/live")" "$fs: --attrs -R starts with ROOT itself"
	cp "$img" "$W/copy.img"         # the image itself is mounted: vaudit --image refuses it
	"$VAUDIT" --attrs --recursive --image "$W/copy.img" /vservers >"$W/roff" 2>"$W/roff.err"
	is "$?" 0 "$fs: --attrs --recursive --image /vservers exits 0"
	sed "s|$mnt||" "$W/rlive" | sort >"$W/rlive.rel"
	if sort "$W/roff" | cmp -s - "$W/rlive.rel"; then ok 0 "$fs: -R live equals -R offline (odd names included)"; else
		ok 1 "$fs: -R live equals -R offline"; sort "$W/roff" | diff - "$W/rlive.rel" | head -20 | sed 's/^/# /'; fi
	n=0 bad=0
	while IFS=' ' read -r col letters path; do
		case $path in *\'*|*\$*|*\\*) continue ;; esac
		n=$((n + 1))
		want=$(expect_col "$img" "$path")
		[ "$col" = "$want" ] || { bad=$((bad + 1)); diag "$path: $col, debugfs says $want"; }
		# the cow bit 0x20000000 is also ext4's projinherit: lsattr (through
		# the kernel) does not show it as P, the raw flags do
		if [ "$n" -le 40 ] && [ "${col:3:1}" = c ]; then
			want=$(lsattr -d "$mnt$path" 2>/dev/null | cut -d' ' -f1)
			[ "$letters" = "$want" ] || { bad=$((bad + 1)); diag "$path: $letters, lsattr says $want"; }
		fi
	done <"$W/roff"
	ok "$([ "$n" -ge 100 ] && [ "$bad" -eq 0 ]; echo $?)" \
		"$fs: -R offline: buic as debugfs says for $n plain paths, letters as lsattr says (first 40 without cow)"

	# any file, live and in the image: one line, itself
	f=$(cd "$mnt" && find vservers -type f -name ls | head -1)
	"$VAUDIT" --attrs "$mnt/$f" >"$W/file" 2>/dev/null
	is "$?:$(wc -l <"$W/file"):$(cut -d' ' -f3- "$W/file")" "0:1:$mnt/$f" "$fs: --attrs FILE: one line, the file"
	is "$(cut -d' ' -f1 "$W/file"):$(cut -d' ' -f2 "$W/file")" \
		"$(expect_col "$img" "/$f"):$(lsattr -d "$mnt/$f" | cut -d' ' -f1)" "$fs: --attrs FILE: buic from debugfs, letters from lsattr"
	"$VAUDIT" --attrs -R "$mnt/$f" >"$W/file-r" 2>/dev/null
	is "$(cat "$W/file-r")" "$(cat "$W/file")" "$fs: --attrs -R FILE: the same line"
	unmount_keep "$mnt"
	"$VAUDIT" --attrs --image "$img" "/$f" "/vservers/no-such" >"$W/ifile" 2>"$W/ifile.err"
	is "$?:$(cat "$W/ifile")" "2:$(sed "s|$mnt||" "$W/file")" \
		"$fs: --attrs --image FILE MISSING: the file's line, an error for the other (exit 2)"
	grep -q "no-such" "$W/ifile.err"
	ok $? "$fs: the missing path is named on stderr"
done

# the usage rules
"$VAUDIT" --attrs --image "$img" vservers >/dev/null 2>"$W/err"
is "$?:$(grep -c 'absolute path in the image' "$W/err")" "64:1" "--attrs --image with a relative PATH: usage error"
"$VAUDIT" -R "$W" >/dev/null 2>"$W/err"
is "$?:$(grep -c -- '--recursive needs --attrs' "$W/err")" "64:1" "-R without --attrs: usage error"
"$VAUDIT" --attrs --image "$img" --prefix /vservers /vservers >/dev/null 2>"$W/err"
is "$?" 64 "--attrs --image with --prefix and PATH: usage error"

"$VAUDIT" --attrs "$W/no-such-root" >/dev/null 2>"$W/err"
is "$?" 2 "--attrs on a missing ROOT exits 2"
is "$(wc -l <"$W/err")" 1 "one line for the missing ROOT (the syscall note goes to a terminal only)"

done_testing
