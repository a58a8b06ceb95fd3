# shellcheck shell=bash disable=SC2154
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/integration/unifylib.sh - shared by the unify and journal tests.
# Source it after tests/lib.sh.
#
#   need_unify           skip_all unless vunify and vhashify are built
#   urun TAG CMD...      CMD with a time limit; stdout $W/TAG.out, stderr
#                        $W/TAG.err, status in RC
#   rc_is TAG WANT DESC  RC is WANT, else show TAG's output
#   mkimage NAME TYPE MiB [INODES]   a fresh image in $W (256-byte inodes)
#   state MNT TAG        unifytest.py state of MNT in $W/state.TAG
#   snap MNT             vatest.py snapshot (for "nothing changed")
#   no_tmp MNT DESC      no NAME;XXXXXX below MNT
#   one_line TAG PROG DESC WORDS...  stderr is one line naming WORDS
#   chk_run, chk_orig, undo_check    the unifytest.py checks
#   jwhole JOURNAL       "ok" when every line of JOURNAL is a whole record
#                        (newline, right CRC32C, computed here), else why not
#   race_fixture NAME N  three guests of N twin files (unifytest.py build
#                        race) on a new mounted ext4 image; sets IMG, M,
#                        S (spec), C (copies), H (store), TREES, state orig

: "${VUNIFY:=$top_builddir/vunify}"
: "${VHASHIFY:=$top_builddir/vhashify}"
: "${VAUDIT_UNIFY_TIMEOUT:=300}"

need_unify() {
	if [ ! -x "$VUNIFY" ] || [ ! -x "$VHASHIFY" ]; then
		skip_all "vunify/vhashify not built"
	fi
}

UT=$top_srcdir/tests/integration/unifytest.py
VT=$top_srcdir/tests/integration/vatest.py
W=$TEST_TMP
# shellcheck disable=SC2034 # used by the tests that source this file
FL=--flags=immutable
# shellcheck disable=SC2034
NP=--no-progress

# ---------------------------------------------------------------- helpers

# perl_base_deb: DEB, Debian's perl-base package (with its perl and
# perl5.36.0 hard-link pair), from apt's cache or downloaded into $W;
# without it the whole test is skipped
perl_base_deb() {
	DEB=$(find /var/cache/apt/archives -maxdepth 1 -name 'perl-base_*.deb' 2>/dev/null | head -1)
	if [ -z "$DEB" ]; then
		(cd "$W" && timeout 300 apt-get download perl-base) >"$W/apt.out" 2>&1
		DEB=$(find "$W" -maxdepth 1 -name 'perl-base_*.deb' | head -1)
	fi
	[ -n "$DEB" ] || skip_all "no perl-base package (apt-get download perl-base failed)"
}

# urun TAG CMD...: stdout in $W/TAG.out, stderr in $W/TAG.err, status in RC
urun() {
	local tag=$1
	shift
	timeout -s KILL "$VAUDIT_UNIFY_TIMEOUT" "$@" >"$W/$tag.out" 2>"$W/$tag.err" </dev/null
	RC=$?
	if [ "$RC" -ge 124 ]; then
		diag "$* : killed or crashed (status $RC)"
		[ -s "$W/$tag.err" ] && diag "stderr: $(head -c 1500 "$W/$tag.err" | cat -v)"
	fi
	return 0
}

# rc_is TAG WANT DESC: RC is WANT, else show the stderr of TAG
rc_is() {
	local tag=$1 want=$2
	shift 2
	if [ "$RC" = "$want" ]; then
		ok 0 "$* (exit $RC)"
		return 0
	fi
	ok 1 "$* (exit $RC, want $want)"
	diag "stderr: $(head -c 1500 "$W/$tag.err" | cat -v)"
	diag "stdout: $(tail -c 800 "$W/$tag.out" | cat -v)"
	return 1
}

# mkimage NAME FSTYPE MiB [INODES]: a new image in $W, 4 KiB blocks,
# 256-byte inodes (nanosecond times, in-inode xattrs)
mkimage() {
	local img=$W/$1.img
	truncate -s "$3M" "$img" &&
		mke2fs -q -F -t "$2" -b 4096 -I 256 -N "${4:-16384}" "$img" >/dev/null 2>&1 &&
		printf '%s\n' "$img"
}

# state MNT TAG: the state of every entry of MNT in $W/state.TAG
state() {
	python3 "$UT" state "$1" "$W/state.$2" --skip hold
}

# snap MNT: a listing of every entry (inode, mode, links, flags, size,
# mtime, ctime) for "nothing changed"
snap() {
	python3 "$VT" snapshot "$1" | grep -v ' hold/'
}

# no_tmp MNT DESC: no temporary name NAME;XXXXXX below MNT
no_tmp() {
	local left
	left=$(find "$1" -name '*;??????' 2>&1 | head -5)
	is "$left" "" "$2: no temporary names (find -name '*;??????' is empty)"
}

# one_line TAG PROG DESC WORDS...: stderr of TAG is one line "PROG: ..."
# holding each of WORDS
one_line() {
	local tag=$1 prog=$2 desc=$3 n w bad=
	shift 3
	n=$(grep -c '' "$W/$tag.err")
	[ "$n" -eq 1 ] || bad="$n lines"
	grep -q "^$prog: " "$W/$tag.err" || bad+=" not starting with '$prog: '"
	for w in "$@"; do
		grep -qF -- "$w" "$W/$tag.err" || bad+=" no '$w'"
	done
	ok "$([ -z "$bad" ]; echo $?)" "$desc: one line on stderr naming $*" ||
		diag "($bad) stderr: $(head -c 1000 "$W/$tag.err" | cat -v)"
}

chk_run() { # LABEL SPEC MNT COPIES SCENARIO BEFORE AFTER FLAGS [JSON PROG JOURNAL]
	local extra=()
	[ -n "${9-}" ] && extra=(--json "$9" --program "${10}" --journal "${11}")
	py_checks python3 "$UT" check-run --label "$1" --spec "$2" --mnt "$3" --copies "$4" \
		--scenario "$5" --before "$W/state.$6" --after "$W/state.$7" --flags "$8" "${extra[@]}"
}

chk_orig() { # LABEL SPEC MNT COPIES ORIG AFTER
	py_checks python3 "$UT" check-orig --label "$1" --spec "$2" --mnt "$3" --copies "$4" \
		--orig "$W/state.$5" --after "$W/state.$6"
}

# undo LABEL JOURNAL MNT SPEC COPIES ORIG: vaudit --undo, the state is back
# to ORIG, no temporary name; a second --undo changes nothing
undo_check() {
	local label=$1 j=$2 mnt=$3 spec=$4 copies=$5 orig=$6 s1
	urun undo "$VAUDIT" --undo "$j" "$mnt"
	rc_is undo 0 "$label: vaudit --undo JOURNAL"
	state "$mnt" "$label.undone"
	chk_orig "$label: after --undo" "$spec" "$mnt" "$copies" "$orig" "$label.undone"
	no_tmp "$mnt" "$label: after --undo"
	s1=$(snap "$mnt")
	urun undo2 "$VAUDIT" --undo "$j" "$mnt"
	rc_is undo2 0 "$label: a second vaudit --undo of the same journal"
	is "$(snap "$mnt")" "$s1" "$label: the second --undo changed nothing"
}

# jwhole JOURNAL: every line ends in a newline and carries the CRC32C of the
# bytes before its "\tcrc=" (computed here, bit by bit); prints "ok" or why not
jwhole() {
	python3 - "$1" <<'EOF'
import sys
def crc32c(data):
    c = 0xffffffff
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ (0x82f63b78 if c & 1 else 0)
    return c ^ 0xffffffff
data = open(sys.argv[1], 'rb').read()
if not data.endswith(b'\n'):
    print('no newline at the end (%d bytes)' % len(data)); sys.exit()
for n, line in enumerate(data[:-1].split(b'\n'), 1):
    body, sep, c = line.rpartition(b'\tcrc=')
    if not sep or len(c) != 8 or int(c, 16) != crc32c(body):
        print('line %d is not a whole record: %r' % (n, line[:80])); sys.exit()
print('ok')
EOF
}

# race_fixture NAME N: see the top of this file
race_fixture() {
	IMG=$(mkimage "$1" ext4 256 65536) || bail_out "mke2fs failed"
	M=$(mount_fixture "$IMG") || bail_out "cannot mount the image"
	S=$W/spec.$1.json
	C=$W/copies.$1
	python3 "$UT" build race "$M" "$C" "$S" --n "$2" 2>"$W/build.err"
	ok $? "build 3 guests x $2 files on a fresh ext4 image" || bail_out "$(cat "$W/build.err")"
	state "$M" orig
	H=$M/.hash
	TREES=("$M/vs/g1" "" "$M/vs/g2" "" "$M/vs/g3" "")
}
