#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# unify.sh - vunify, vhashify and `vaudit --undo` of their journals on
# loop-mounted ext4 images (and one ext3, one ext2) made here, file by
# file, by unifytest.py, which also writes what must happen (which names
# become one inode, which never) and keeps a copy of every file's content
# outside the image.  The ground truth is that spec plus lstat, xattrs,
# FS_IOC_GETFLAGS, lsattr, getfacl, cmp and debugfs -- never the programs'
# own output, which is only compared against it.
#
#   rules     the never-link cases (content, last byte, mode, owner,
#             group, mtime, mtime ns, user/trusted xattrs, ACL,
#             capability, small files, specials, immutable and append-only
#             targets) and the positive ones, for vhashify (4 guests and a
#             store) and vunify (3 targets, 2 references); --flags
#             immutable, legacy, none; auto and v26 refused on this kernel
#   dry run   changes nothing, exits 1; would-link set = what the real run links
#   --json    valid JSON Lines, the summary consistent with the filesystem
#   undo      vaudit --undo JOURNAL gives every name its own inode back
#   revert    vunify -R, vhashify --revert: private copies with every
#             attribute
#   exclude   exclude lists of the target and of the references
#   config    --config DIR GUEST, GUEST..., --all
#   EMLINK    a master with 65000 links
#   bad input exit 2 (a usage error 64), one line, nothing changed
# After every run: no temporary name (NAME;XXXXXX) anywhere.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs debugfs chattr lsattr setfacl getfacl getfattr setfattr losetup mount umount \
	mountpoint fsfreeze timeout cmp find truncate stat
. "$top_srcdir/tests/integration/unifylib.sh"
need_unify

# ------------------------------------------------------------------ images

HAVE_VS=0
[ -e /proc/virtual ] && HAVE_VS=1

setup() { # NAME FSTYPE MiB LAYOUT -> IMG, MNT, SPEC, COPIES
	IMG=$(mkimage "$1" "$2" "$3") || bail_out "mke2fs $2 failed"
	MNT=$(mount_fixture "$IMG") || bail_out "cannot mount the $2 image"
	defer fsfreeze -u -- "$MNT"
	SPEC=$W/spec.$1.json
	COPIES=$W/copies.$1
	python3 "$UT" build "$4" "$MNT" "$COPIES" "$SPEC" 2>"$W/build.err"
	ok $? "$1: build the $4 layout on a fresh $2 image" || diag "$(cat "$W/build.err")"
}

# ================================================================ vhashify rules
hash_rules() { # NAME FSTYPE [full]
	local N=$1 full=${3-}
	setup "$N" "$2" 128 hash-rules
	local A=$MNT S=$SPEC C=$COPIES I=$IMG H=$MNT/.hash
	local TREES=("$A/vs/g1" "" "$A/vs/g2" "" "$A/vs/g3" "" "$A/vs/g4" "")
	state "$A" "$N.orig"

	if [ -n "$full" ]; then
		# ---- auto and v26 without the vserver syscall
		if [ "$HAVE_VS" = 1 ]; then
			skip "$N: --flags=auto refused" "this kernel has the vserver syscall"
		else
			local s0 f
			s0=$(snap "$A")
			for f in --flags=auto --flags=v26 "" "-n --flags=auto"; do
				# shellcheck disable=SC2086 # $f is one or two words
				urun refuse "$VHASHIFY" $f $NP --journal "$W/refuse.journal" --manually --destination "$H" \
					-- "${TREES[@]}"
				rc_is refuse 2 "$N: vhashify ${f:-(no --flags)} on a kernel without the vserver syscall"
				one_line refuse vhashify "$N: vhashify ${f:-(no --flags)}" --flags=legacy --flags=immutable \
					--flags=none
			done
			is "$(snap "$A"; [ -e "$W/refuse.journal" ] && echo journal made)" "$s0" \
				"$N: the refused runs changed nothing (inodes, links, flags, times), no journal"
		fi

		# ---- dry run
		local s0
		s0=$(snap "$A")
		urun dry "$VHASHIFY" -n --json $FL $NP --manually --destination "$H" -- "${TREES[@]}"
		rc_is dry 1 "$N: vhashify -n --json (it would link)"
		is "$(snap "$A")" "$s0" "$N: the dry run changed nothing (inodes, links, flags, times; no store entry)"
		cp "$W/dry.out" "$W/$N.dry.json"
		py_checks python3 "$UT" jsonlines "$W/$N.dry.json" --label "$N: dry run --json" --program vhashify --dry
		grep -q '^would link ' "$W/dry.out"
		ok $((!$?)) "$N: --json dry run writes no text lines"
		urun drytext "$VHASHIFY" -n -v $FL $NP --manually --destination "$H" -- "${TREES[@]}"
		is "$RC:$(grep -c '^would link ' "$W/drytext.out")" "1:$(python3 "$UT" summary "$W/$N.dry.json" linked)" \
			"$N: text dry run: one 'would link' line per name the JSON run would link"
		is "$(grep '^skip .*: immutable or append-only' "$W/drytext.out" | sort)" \
			"$(printf 'skip %s: immutable or append-only\nskip %s: immutable or append-only' \
				"$A/vs/g3/usr/lib/imm.so" "$A/vs/g4/usr/lib/imm.so")" \
			"$N: -v reports the immutable and the append-only target as skipped"
		grep -q '^vhashify: skipped: .*2 immutable' "$W/drytext.out"
		ok $? "$N: the text summary counts '2 immutable'" || diag "$(grep '^vhashify: ' "$W/drytext.out")"
		no_tmp "$A" "$N: after the dry runs"
	fi

	# ---- --flags=immutable
	local J=$W/$N.imm.journal
	urun imm "$VHASHIFY" --json $FL $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
	rc_is imm 0 "$N: vhashify --flags=immutable --json (4 guests, immutable and append-only files among them)"
	grep -qxF "vhashify: journal: $J" "$W/imm.err"
	ok $? "$N: stderr names the journal" || diag "stderr: $(head -c 600 "$W/imm.err" | cat -v)"
	cp "$W/imm.out" "$W/$N.imm.json"
	state "$A" "$N.imm"
	chk_run "$N --flags=immutable" "$S" "$A" "$C" all "$N.orig" "$N.imm" immutable \
		"$W/$N.imm.json" vhashify "$J"
	no_tmp "$A" "$N: after vhashify"
	[ -n "$full" ] && py_checks python3 "$UT" compare-dry --dry "$W/$N.dry.json" --real "$W/$N.imm.json" \
		--label "$N: dry run vs real run" --program vhashify
	local m=$A/vs/g1/usr/lib/libshared.so.1
	is "$(cmp -- "$m" "$C/c/pos-libshared" && stat -c '%h' -- "$m" "$A/vs/g4/usr/lib/libshared.so.1")" \
		"$(printf '5\n5')" "$N: cmp: the shared file equals the copy; stat: 4 guests + store = 5 links"
	is "$(lsattr -d -- "$m" | awk '{ print ($1 ~ /i/) ($1 ~ /t/) }')" 10 \
		"$N: lsattr: the shared inode is immutable (i), no t"
	is "$(lsattr -d -- "$A/vs/g3/usr/lib/imm.so" "$A/vs/g4/usr/lib/imm.so" | awk '{ print ($1 ~ /i/) ($1 ~ /a/) }' | tr '\n' ' ')" \
		"10 01 " "$N: lsattr: the skipped immutable / append-only targets kept i / a"

	if [ -n "$full" ]; then
		# ---- a second run: everything is shared already
		local s1
		s1=$(snap "$A")
		urun again "$VHASHIFY" --json $FL $NP --journal "$W/$N.again.journal" --manually --destination "$H" \
			-- "${TREES[@]}"
		is "$RC:$(python3 "$UT" summary "$W/again.out" linked 2>&1):$(python3 "$UT" summary "$W/again.out" stored 2>&1)" \
			"0:0:0" "$N: a second vhashify run links nothing, stores nothing (exit 0)"
		is "$(snap "$A")" "$s1" "$N: the second run changed nothing"
		no_tmp "$A" "$N: after the second run"

		# ---- revert g1 and g2 (g3, g4 keep sharing the store entry)
		state "$A" "$N.prerevert"
		getfacl -p -- "$A/vs/g1/usr/bin/ping" "$A/vs/g2/usr/bin/tool" >"$W/$N.acl.before" 2>&1
		getfattr -h -d -m - -e hex -- "$A/vs/g1/usr/bin/ping" >"$W/$N.xattr.before" 2>&1
		local JR=$W/$N.revert.journal
		urun revert "$VHASHIFY" --revert --destination "$H" $FL --json $NP --journal "$JR" -- "$A/vs/g1" "$A/vs/g2"
		rc_is revert 0 "$N: vhashify --revert g1 g2"
		state "$A" "$N.reverted"
		py_checks python3 "$UT" check-revert --label "$N: vhashify --revert" --spec "$S" --mnt "$A" --copies "$C" \
			--before "$W/state.$N.prerevert" --after "$W/state.$N.reverted" --reverted vs/g1 vs/g2 --store .hash \
			--json "$W/revert.out" --program vhashify --journal "$JR"
		is "$(getfacl -p -- "$A/vs/g1/usr/bin/ping" "$A/vs/g2/usr/bin/tool" 2>&1)" "$(cat "$W/$N.acl.before")" \
			"$N: getfacl of reverted files equal before and after"
		is "$(getfattr -h -d -m - -e hex -- "$A/vs/g1/usr/bin/ping" 2>&1)" "$(cat "$W/$N.xattr.before")" \
			"$N: getfattr (security.capability, ACL, user.*) of a reverted setuid file equal before and after"
		is "$(stat -c '%a %u %g %h' -- "$A/vs/g1/usr/bin/ping"; lsattr -d -- "$A/vs/g1/usr/bin/ping" | awk '{ print ($1 ~ /[ia]/) }')" \
			"$(printf '4755 1000 1000 1\n0')" "$N: stat/lsattr: the reverted setuid file is 4755 1000:1000, one link, not immutable"
		no_tmp "$A" "$N: after --revert"
		# undo the revert: linked back
		urun unrevert "$VAUDIT" --undo "$JR" "$A"
		rc_is unrevert 0 "$N: vaudit --undo of the revert journal"
		state "$A" "$N.unreverted"
		chk_run "$N: revert undone" "$S" "$A" "$C" all "$N.orig" "$N.unreverted" immutable
		no_tmp "$A" "$N: after undoing the revert"
	fi

	undo_check "$N --flags=immutable" "$J" "$A" "$S" "$C" "$N.orig"

	[ -n "$full" ] || return 0
	# ---- --flags=legacy: 0x10|0x8000
	J=$W/$N.legacy.journal
	state "$A" "$N.pre2"
	urun legacy "$VHASHIFY" --json --flags=legacy $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
	rc_is legacy 0 "$N: vhashify --flags=legacy"
	cp "$W/legacy.out" "$W/$N.legacy.json"
	state "$A" "$N.legacy"
	chk_run "$N --flags=legacy" "$S" "$A" "$C" all "$N.pre2" "$N.legacy" legacy "$W/$N.legacy.json" vhashify "$J"
	no_tmp "$A" "$N: after --flags=legacy"
	is "$(lsattr -d -- "$m" | awk '{ print ($1 ~ /i/) ($1 ~ /t/) }')" 11 \
		"$N: lsattr: the shared inode is i and t (0x10|0x8000)"
	local ino raw
	ino=$(stat -c %i -- "$m")
	flush_fs "$A"
	raw=$(raw_flags "$I" "<$ino>")
	is "$(((raw & 0x8010) == 0x8010))" 1 "$N: debugfs: inode $ino has 0x10|0x8000 on disk ($raw)"
	undo_check "$N --flags=legacy" "$J" "$A" "$S" "$C" "$N.orig"

	# ---- --flags=none: no protection, a warning
	J=$W/$N.none.journal
	state "$A" "$N.pre3"
	urun none "$VHASHIFY" --json --flags=none $NP --journal "$J" --manually --destination "$H" -- "${TREES[@]}"
	rc_is none 0 "$N: vhashify --flags=none"
	grep -q '^vhashify: warning: --flags=none' "$W/none.err"
	ok $? "$N: --flags=none warns on stderr" || diag "stderr: $(head -c 600 "$W/none.err" | cat -v)"
	cp "$W/none.out" "$W/$N.none.json"
	state "$A" "$N.none"
	chk_run "$N --flags=none" "$S" "$A" "$C" all "$N.pre3" "$N.none" none "$W/$N.none.json" vhashify "$J"
	no_tmp "$A" "$N: after --flags=none"
	undo_check "$N --flags=none" "$J" "$A" "$S" "$C" "$N.orig"
	HASH_MNT=$A
}

# ================================================================ vunify rules
unify_rules() { # NAME FSTYPE [full]
	local N=$1 full=${3-}
	setup "$N" "$2" 128 unify-rules
	local A=$MNT S=$SPEC C=$COPIES
	local REFS=("$A/vs/ref" "" "$A/vs/ref2" "")
	state "$A" "$N.orig"

	if [ -n "$full" ]; then
		if [ "$HAVE_VS" = 1 ]; then
			skip "$N: --flags=auto refused" "this kernel has the vserver syscall"
		else
			local s0 f
			s0=$(snap "$A")
			for f in --flags=auto --flags=v26 "" "-n --flags=v26"; do
				# shellcheck disable=SC2086
				urun refuse "$VUNIFY" $f $NP --journal "$W/refuse.journal" --manually -- "$A/vs/t1" "" "${REFS[@]}"
				rc_is refuse 2 "$N: vunify ${f:-(no --flags)} on a kernel without the vserver syscall"
				one_line refuse vunify "$N: vunify ${f:-(no --flags)}" --flags=legacy --flags=immutable --flags=none
			done
			is "$(snap "$A"; [ -e "$W/refuse.journal" ] && echo journal made)" "$s0" \
				"$N: the refused runs changed nothing, no journal"
		fi
		local s0
		s0=$(snap "$A")
		urun dry "$VUNIFY" -n --json $FL $NP --manually -- "$A/vs/t1" "" "${REFS[@]}"
		rc_is dry 1 "$N: vunify -n --json (it would link)"
		is "$(snap "$A")" "$s0" "$N: the dry run changed nothing"
		cp "$W/dry.out" "$W/$N.dry.json"
		no_tmp "$A" "$N: after the dry run"
	fi

	local t pre=orig
	for t in 1 2 3; do
		[ -n "$full" ] || [ "$t" = 1 ] || break
		local J=$W/$N.t$t.journal
		urun t$t "$VUNIFY" --json $FL $NP --journal "$J" --manually -- "$A/vs/t$t" "" "${REFS[@]}"
		rc_is t$t 0 "$N: vunify --flags=immutable target t$t, references ref, ref2"
		cp "$W/t$t.out" "$W/$N.t$t.json"
		state "$A" "$N.t$t"
		chk_run "$N: vunify t$t" "$S" "$A" "$C" t$t "$N.$pre" "$N.t$t" immutable "$W/$N.t$t.json" vunify "$J"
		no_tmp "$A" "$N: after vunify t$t"
		pre=t$t
	done
	[ -n "$full" ] && py_checks python3 "$UT" compare-dry --dry "$W/$N.dry.json" --real "$W/$N.t1.json" \
		--label "$N: dry run vs real run" --program vunify

	if [ -n "$full" ]; then
		local m=$A/vs/ref/usr/lib/libshared.so.1
		is "$(stat -c %h -- "$m"; stat -c %i -- "$m" "$A/vs/t1/usr/lib/libshared.so.1" "$A/vs/t2/usr/lib/libshared.so.1" \
			"$A/vs/t3/usr/lib/libshared.so.1" | sort -u | wc -l)" "$(printf '4\n1')" \
			"$N: stat: ref, t1, t2, t3 share one inode (4 links)"
		# ---- vunify -R t1
		state "$A" "$N.prerevert"
		getfacl -p -- "$A/vs/t1/usr/bin/ping" "$A/vs/t1/usr/bin/tool" >"$W/$N.acl.before" 2>&1
		local JR=$W/$N.revert.journal
		urun revert "$VUNIFY" -R --json $FL $NP --journal "$JR" --manually -- "$A/vs/t1" "" "${REFS[@]}"
		rc_is revert 0 "$N: vunify -R t1"
		state "$A" "$N.reverted"
		py_checks python3 "$UT" check-revert --label "$N: vunify -R" --spec "$S" --mnt "$A" --copies "$C" \
			--before "$W/state.$N.prerevert" --after "$W/state.$N.reverted" --reverted vs/t1 \
			--json "$W/revert.out" --program vunify --journal "$JR"
		is "$(getfacl -p -- "$A/vs/t1/usr/bin/ping" "$A/vs/t1/usr/bin/tool" 2>&1)" "$(cat "$W/$N.acl.before")" \
			"$N: getfacl of the reverted files equal before and after"
		is "$(lsattr -d -- "$m" | awk '{ print ($1 ~ /i/) }')" 1 "$N: the reference's file stays immutable"
		no_tmp "$A" "$N: after vunify -R"
		urun unrevert "$VAUDIT" --undo "$JR" "$A"
		rc_is unrevert 0 "$N: vaudit --undo of the vunify -R journal"
		state "$A" "$N.unreverted"
		chk_run "$N: -R undone" "$S" "$A" "$C" t3 "$N.orig" "$N.unreverted" immutable
		no_tmp "$A" "$N: after undoing -R"
		# ---- undo t3, t2 (then t1 below)
		urun undo3 "$VAUDIT" --undo "$W/$N.t3.journal" "$A"
		rc_is undo3 0 "$N: vaudit --undo of t3's journal"
		urun undo2 "$VAUDIT" --undo "$W/$N.t2.journal" "$A"
		rc_is undo2 0 "$N: vaudit --undo of t2's journal"
		local ri t1i t2i t3i
		ri=$(stat -c %i -- "$m")
		t1i=$(stat -c %i -- "$A/vs/t1/usr/lib/libshared.so.1")
		t2i=$(stat -c %i -- "$A/vs/t2/usr/lib/libshared.so.1")
		t3i=$(stat -c %i -- "$A/vs/t3/usr/lib/libshared.so.1")
		is "$([ "$ri" = "$t1i" ] && echo t1-shared) $([ "$t2i" != "$ri" ] && [ "$t3i" != "$ri" ] && echo t2-t3-own) $(stat -c %h -- "$m" "$A/vs/t2/usr/lib/libshared.so.1" "$A/vs/t3/usr/lib/libshared.so.1" | tr '\n' ' ')" \
			"t1-shared t2-t3-own 2 1 1 " "$N: after undoing t3 and t2: t1 still shares ref's inode, t2 and t3 have their own"
		no_tmp "$A" "$N: after undoing t3 and t2"
	fi
	undo_check "$N: vunify t1" "$W/$N.t1.journal" "$A" "$S" "$C" "$N.orig"

	[ -n "$full" ] || return 0
	# ---- legacy and none
	local mode
	for mode in legacy none; do
		local J=$W/$N.$mode.journal
		state "$A" "$N.pre.$mode"
		urun $mode "$VUNIFY" --json --flags=$mode $NP --journal "$J" --manually -- "$A/vs/t1" "" "${REFS[@]}"
		rc_is $mode 0 "$N: vunify --flags=$mode"
		if [ $mode = none ]; then
			grep -q '^vunify: warning: --flags=none' "$W/none.err"
			ok $? "$N: --flags=none warns on stderr" || diag "stderr: $(head -c 600 "$W/none.err" | cat -v)"
		else
			is "$(lsattr -d -- "$A/vs/t1/usr/lib/libshared.so.1" | awk '{ print ($1 ~ /i/) ($1 ~ /t/) }')" 11 \
				"$N: lsattr: the shared inode is i and t (0x10|0x8000)"
		fi
		cp "$W/$mode.out" "$W/$N.$mode.json"
		state "$A" "$N.$mode"
		chk_run "$N: vunify --flags=$mode" "$S" "$A" "$C" t1 "$N.pre.$mode" "$N.$mode" $mode \
			"$W/$N.$mode.json" vunify "$J"
		no_tmp "$A" "$N: after --flags=$mode"
		undo_check "$N --flags=$mode" "$J" "$A" "$S" "$C" "$N.orig"
	done
}

hash_rules hash4 ext4 full
unify_rules unify4 ext4 full
hash_rules hash3 ext3
unify_rules unify2 ext2

# ================================================================ exclude lists
setup excl ext4 64 exclude
A=$MNT
XS=$SPEC
XC=$COPIES
EX=$XC/excl-target
EXR=$XC/excl-ref1
state "$A" excl.orig
# directories excluded are not entered: reading a directory (getdents)
# sets its atime under relatime when the atime is old; the run is the
# only reader between touch and stat
adirs=(vs/g1/etc/sub vs/g2/etc/sub vs/g1/usr/share/doc vs/g2/usr/share/doc vs/g1/usr/lib vs/g3/etc/sub)
for d in "${adirs[@]}"; do touch -a -d @1400000000 -- "$A/$d"; done
J=$W/excl.hash.journal
urun xh "$VHASHIFY" --json $FL $NP --journal "$J" --manually --destination "$A/.hash" -- \
	"$A/vs/g1" "$EX" "$A/vs/g2" "$EX" "$A/vs/g3" ""
rc_is xh 0 "exclude: vhashify with g1, g2 filtered by a list, g3 without"
atimes=$(for d in "${adirs[@]}"; do stat -c %X -- "$A/$d"; done | awk '{ print ($1 == 1400000000 ? "untouched" : "read") }' | tr '\n' ' ')
if awk -v m="$A" '$2 == m { print $4 }' /proc/mounts | grep -Eq '(^|,)(noatime|nodiratime)(,|$)'; then
	skip "exclude: excluded directories were not entered (atime)" "mounted without directory atimes"
else
	is "$atimes" "untouched untouched untouched untouched read read " \
		"exclude: excluded directories were not entered (atime kept); g1/usr/lib and g3/etc/sub were read"
fi
grep -v "^vhashify: journal: " "$W/xh.err" | grep -v "^vhashify: '$EX':[0-9]*: " >"$W/xh.err2"
is "$(cat "$W/xh.err2")" "" "exclude: stderr holds only the journal line and 'FILE:LINE:' quirk warnings"
state "$A" excl.hash
chk_run "exclude: vhashify" "$XS" "$A" "$XC" hash excl.orig excl.hash immutable "$W/xh.out" vhashify "$J"
no_tmp "$A" "exclude: after vhashify"
undo_check "exclude: vhashify" "$J" "$A" "$XS" "$XC" excl.orig
J=$W/excl.unify.journal
state "$A" excl.pre2
urun xu "$VUNIFY" --json $FL $NP --journal "$J" --manually -- "$A/vs/g2" "$EX" "$A/vs/g1" "$EXR" "$A/vs/g3" ""
rc_is xu 0 "exclude: vunify target g2 (list), references g1 (its own list excludes /usr/lib/libok and /srv), g3"
state "$A" excl.unify
chk_run "exclude: vunify" "$XS" "$A" "$XC" unify excl.pre2 excl.unify immutable "$W/xu.out" vunify "$J"
is "$(stat -c %i -- "$A/vs/g2/usr/lib/libok" "$A/vs/g3/usr/lib/libok" "$A/vs/g1/usr/lib/libok" | uniq | wc -l)" 2 \
	"exclude: g2/usr/lib/libok shares g3's inode, not g1's (g1's list excludes it)"
no_tmp "$A" "exclude: after vunify"
undo_check "exclude: vunify" "$J" "$A" "$XS" "$XC" excl.orig

# ================================================================ configuration
setup cfg ext4 64 config
A=$MNT
CS=$SPEC
CC=$COPIES
CFG=$W/etc-vservers
mkdir -p "$CFG/.defaults/apps/vunify/hash" "$CFG/g1/apps/vunify" "$CFG/g2/apps/vunify" "$CFG/g3/apps/vunify" "$CFG/g4"
ln -s "$A/.hash" "$CFG/.defaults/apps/vunify/hash/00"
for g in g1 g2 g3 g4; do ln -s "$A/vs/$g" "$CFG/$g/vdir"; done
ln -s ../../../g1 "$CFG/g2/apps/vunify/refserver.1"
printf '/usr/share/doc\n' >"$CFG/g2/apps/vunify/exclude"
: >"$CFG/g3/disabled"
state "$A" cfg.orig
J=$W/cfg.vunify.journal
urun cu "$VUNIFY" --config "$CFG" --json $FL $NP --journal "$J" g2
rc_is cu 0 "config: vunify --config DIR g2 (reference g1 from refserver.1)"
state "$A" cfg.vunify
chk_run "config: vunify g2" "$CS" "$A" "$CC" vunify-g2 cfg.orig cfg.vunify immutable "$W/cu.out" vunify "$J"
no_tmp "$A" "config: after vunify g2"
undo_check "config: vunify g2" "$J" "$A" "$CS" "$CC" cfg.orig
J=$W/cfg.hash.journal
urun ch "$VHASHIFY" --config "$CFG" --json $FL $NP --journal "$J" g1 g2
rc_is ch 0 "config: vhashify --config DIR g1 g2 (store from .defaults/apps/vunify/hash/00)"
state "$A" cfg.hash
chk_run "config: vhashify g1 g2" "$CS" "$A" "$CC" hash-g1g2 cfg.orig cfg.hash immutable "$W/ch.out" vhashify "$J"
no_tmp "$A" "config: after vhashify g1 g2"
undo_check "config: vhashify g1 g2" "$J" "$A" "$CS" "$CC" cfg.orig
J=$W/cfg.all.journal
urun ca "$VHASHIFY" --config "$CFG" --all --json $FL $NP --journal "$J"
rc_is ca 0 "config: vhashify --config DIR --all (g3 disabled, g4 without apps/vunify: left out)"
state "$A" cfg.all
chk_run "config: vhashify --all" "$CS" "$A" "$CC" hash-all cfg.orig cfg.all immutable "$W/ca.out" vhashify "$J"
no_tmp "$A" "config: after vhashify --all"
undo_check "config: vhashify --all" "$J" "$A" "$CS" "$CC" cfg.orig

# ================================================================ EMLINK
IMG=$(mkimage emlink ext4 256) || bail_out "mke2fs failed"
E=$(mount_fixture "$IMG") || bail_out "cannot mount the EMLINK image"
python3 - "$E" <<'EOF'
import os, sys, hashlib
e = sys.argv[1]
data = b''.join(hashlib.sha256(b'emlink%d' % i).digest() for i in range(100))
T = 1500000000 * 10**9 + 5
def mk(p):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'wb') as fh:
        fh.write(data)
    os.chmod(p, 0o644)
    os.utime(p, ns=(T, T))
os.makedirs(e + '/.hash', exist_ok=True)
with open(e + '/.hash/method', 'w') as fh:
    fh.write('sha256\n')
os.makedirs(e + '/.hash/ab/cd', mode=0o700)
full = e + '/.hash/ab/cd/' + 'ab' * 30 + '-00000000'
mk(full)
os.makedirs(e + '/vs/r1/usr/lib')
os.link(full, e + '/vs/r1/usr/lib/full.so')
for p in ('g1', 'g2', 'r2', 't1', 't2', 't3'):
    mk(e + '/vs/%s/usr/lib/full.so' % p)
EOF
ok $? "EMLINK: build the fixture"
python3 "$UT" mklinks "$E/vs/r1/usr/lib/full.so" "$E/hold" 64998
FULL=$E/vs/r1/usr/lib/full.so
fino=$(stat -c %i -- "$FULL")
is "$(stat -c %h -- "$FULL")" 65000 "EMLINK: the full master has ext4's 65000 links (store name, r1, 64998 in hold/)"
ino_of() { stat -c %i -- "$E/vs/$1/usr/lib/full.so"; }
J=$W/emlink.hash.journal
urun eh "$VHASHIFY" --json $FL $NP --journal "$J" --manually --destination "$E/.hash" -- "$E/vs/g1" "" "$E/vs/g2" ""
rc_is eh 0 "EMLINK: vhashify g1 g2 whose twin in the store is full"
is "$([ "$(ino_of g1)" = "$(ino_of g2)" ] && echo shared) $([ "$(ino_of g1)" != "$fino" ] && echo not-full) $(stat -c %h -- "$FULL")" \
	"shared not-full 65000" "EMLINK: g1 and g2 share one inode, not the full one (still 65000 links)"
cmp -s -- "$E/vs/g1/usr/lib/full.so" "$FULL"
ok $? "EMLINK: cmp: same content"
py_checks python3 "$UT" jsonlines "$W/eh.out" --label "EMLINK vhashify --json" --program vhashify --journal "$J"
no_tmp "$E" "EMLINK: after vhashify"
# the second master must still be reachable by --revert (a store name)
urun ehr "$VHASHIFY" --revert --destination "$E/.hash" --json $FL $NP --journal "$W/emlink.revert.journal" -- \
	"$E/vs/g1" "$E/vs/g2"
rc_is ehr 0 "EMLINK: vhashify --revert g1 g2"
is "$(stat -c %h -- "$E/vs/g1/usr/lib/full.so" "$E/vs/g2/usr/lib/full.so" | tr '\n' ' ')$([ "$(ino_of g1)" != "$(ino_of g2)" ] && echo separate)" \
	"1 1 separate" "EMLINK: vhashify --revert gives g1 and g2 private copies (the second master is a store entry)"
urun ehru "$VAUDIT" --undo "$W/emlink.revert.journal" "$E"
rc_is ehru 0 "EMLINK: vaudit --undo of the revert journal"
urun ehu "$VAUDIT" --undo "$J" "$E"
rc_is ehu 0 "EMLINK: vaudit --undo"
is "$(stat -c %h -- "$E/vs/g1/usr/lib/full.so" "$E/vs/g2/usr/lib/full.so" "$FULL" | tr '\n' ' ')$([ "$(ino_of g1)" != "$(ino_of g2)" ] && echo separate)" \
	"1 1 65000 separate" "EMLINK: after --undo g1 and g2 have their own inodes again, the full one 65000 links"
no_tmp "$E" "EMLINK: after --undo"
r2i=$(ino_of r2)
for t in t1 t2; do
	urun eu$t "$VUNIFY" --json $FL $NP --journal "$W/emlink.$t.journal" --manually -- "$E/vs/$t" "" "$E/vs/r1" "" "$E/vs/r2" ""
	rc_is eu$t 0 "EMLINK: vunify $t with the full r1 first, then r2"
done
is "$(ino_of t1) $(ino_of t2) $(stat -c %h -- "$FULL")" "$r2i $r2i 65000" \
	"EMLINK: t1 and t2 share r2's inode, not r1's full one"
is "$(python3 "$UT" summary "$W/eut1.out" linked):$(python3 "$UT" summary "$W/eut1.out" skipped.emlink)" "1:0" \
	"EMLINK: vunify t1 --json: linked 1 (to r2), skipped.emlink 0"
diag "r1's full file after vunify t1, t2: flags $(lsattr -d -- "$FULL" | cut -d' ' -f1) (no name was added to it)"
t3i=$(ino_of t3)
urun eu3 "$VUNIFY" --json $FL $NP --journal "$W/emlink.t3.journal" --manually -- "$E/vs/t3" "" "$E/vs/r1" ""
rc_is eu3 0 "EMLINK: vunify t3 with only the full r1"
is "$(ino_of t3):$(python3 "$UT" summary "$W/eu3.out" skipped.emlink 2>&1)" "$t3i:1" \
	"EMLINK: t3 unchanged, skipped.emlink = 1"
no_tmp "$E" "EMLINK: after vunify"

# ================================================================ bytes saved
# Five names of one content, 3000 bytes: g1/a and g1/b one inode, g1/c,
# g2/d, and g1/e whose inode has a second name outside the trees (the
# host's file).  Linking a, b, c and d frees the inodes of a+b, c and d,
# and the store copy takes one back: 2 x 3000 bytes saved, in the dry run
# as in the real one.  e is left alone (skip reason outside): neither
# replaced nor frozen, so the host's outside/e stays writable.
IMG=$(mkimage saved ext4 64) || bail_out "mke2fs failed"
SV=$(mount_fixture "$IMG") || bail_out "cannot mount the bytes-saved image"
python3 - "$SV" <<'EOF2'
import os, sys
m = sys.argv[1]
for d in ('vs/g1', 'vs/g2', 'outside', '.hash'):
    os.makedirs(os.path.join(m, d), exist_ok=True)
os.chmod(os.path.join(m, '.hash'), 0o700)
T = 1500000000 * 10**9 + 7
for n in ('vs/g1/a', 'vs/g1/c', 'vs/g2/d', 'vs/g1/e'):
    p = os.path.join(m, n)
    with open(p, 'wb') as fh:
        fh.write(bytes(range(200)) * 15)
    os.chmod(p, 0o644)
    os.utime(p, ns=(T, T))
os.link(os.path.join(m, 'vs/g1/a'), os.path.join(m, 'vs/g1/b'))
os.link(os.path.join(m, 'vs/g1/e'), os.path.join(m, 'outside/e'))
EOF2
ST=("$SV/vs/g1" "" "$SV/vs/g2" "")
urun saved-dry "$VHASHIFY" $FL $NP -n --json --manually --destination "$SV/.hash" -- "${ST[@]}"
rc_is saved-dry 1 "bytes saved: vhashify -n (it would link)"
urun saved-real "$VHASHIFY" $FL $NP --json --journal "$W/saved.journal" --manually --destination "$SV/.hash" -- "${ST[@]}"
rc_is saved-real 0 "bytes saved: vhashify"
is "$(stat -c %h "$SV/vs/g1/a"):$(stat -c %h:%i "$SV/outside/e"):$(lsattr -d "$SV/outside/e" | cut -d" " -f1 | tr -cd ia)" \
	"5:2:$(stat -c %i "$SV/vs/g1/e"):" \
	"bytes saved: four names and the store entry are one inode; g1/e keeps the host's inode (outside/e), not immutable"
is "$(grep -c '"path":"[^"]*/vs/g1/e",.*"reason":"outside"' "$W/saved-real.out")" "1" \
	"bytes saved: the run reports g1/e with skip reason outside"
is "$(python3 "$UT" summary "$W/saved-dry.out" saved_bytes):$(python3 "$UT" summary "$W/saved-real.out" saved_bytes)" \
	"6000:6000" "bytes saved: 2 x 3000 in the dry run and in the real run (two names of one inode count once)"
urun saved-undo "$VAUDIT" --undo "$W/saved.journal" "$SV"
rc_is saved-undo 0 "bytes saved: vaudit --undo"

# ================================================================ bad input
A=$HASH_MNT
BT=$A/vs/g1
BH=$A/.hash
mkdir -p "$W/cfg-empty"
bad() { # TAG WORDS -- CMD...: exit 2 (64 for a usage error: BAD_RC=64), one line naming WORDS, nothing changed, no journal
	local tag=$1 words=() s0 prog
	shift
	while [ "$1" != -- ]; do
		words+=("$1")
		shift
	done
	shift
	prog=${1##*/}
	s0=$(snap "$A")
	urun "$tag" "$@"
	rc_is "$tag" "${BAD_RC:-2}" "bad input: $prog ${*:2}"
	one_line "$tag" "$prog" "bad input: $prog" "${words[@]}"
	is "$(snap "$A"; ls "$W"/bad.journal 2>/dev/null)" "$s0" "bad input: $prog: nothing changed, no journal"
}
JB=(--journal "$W/bad.journal" "$FL" "$NP")
BAD_RC=64 bad b1 GUEST -- "$VUNIFY" "${JB[@]}"
BAD_RC=64 bad b2 "even number" "'0'" -- "$VUNIFY" "${JB[@]}" --manually
BAD_RC=64 bad b3 "even number" "'3'" -- "$VUNIFY" "${JB[@]}" --manually "$BT" "" "$A/vs/g2"
BAD_RC=64 bad b4 "even number" "'1'" -- "$VUNIFY" "${JB[@]}" --manually "$BT"
BAD_RC=64 bad b5 "even number" "'0'" -- "$VHASHIFY" "${JB[@]}" --manually --destination "$BH"
BAD_RC=64 bad b6 "even number" "'3'" -- "$VHASHIFY" "${JB[@]}" --manually --destination "$BH" "$BT" "" "$A/vs/g2"
BAD_RC=64 bad b7 --destination -- "$VHASHIFY" "${JB[@]}" --manually "$BT" ""
bad b8 "$W/no-such-list" -- "$VUNIFY" "${JB[@]}" --manually "$BT" "$W/no-such-list" "$A/vs/g2" ""
bad b9 "$W/cfg-empty" -- "$VHASHIFY" "${JB[@]}" --manually --destination "$BH" "$BT" "$W/cfg-empty"
bad b10 "$W/no-such-list" -- "$VHASHIFY" "${JB[@]}" --manually --destination "$BH" "$BT" "" "$A/vs/g2" "$W/no-such-list"
bad b11 nosuch -- "$VUNIFY" "${JB[@]}" --config "$W/cfg-empty" nosuch
bad b12 nosuch -- "$VHASHIFY" "${JB[@]}" --config "$W/cfg-empty" nosuch
bad b13 "$A/no-hash" -- "$VHASHIFY" "${JB[@]}" --manually --destination "$A/no-hash" "$BT" ""
bad b14 "$A/vs/nosuch" -- "$VUNIFY" "${JB[@]}" --manually "$A/vs/nosuch" "" "$BT" ""
BAD_RC=64 bad b15 bogus -- "$VHASHIFY" --journal "$W/bad.journal" --flags=bogus $NP --manually --destination "$BH" "$BT" ""
BAD_RC=64 bad b16 bogus -- "$VUNIFY" --journal "$W/bad.journal" --flags=bogus $NP --manually "$BT" "" "$A/vs/g2" ""

done_testing
