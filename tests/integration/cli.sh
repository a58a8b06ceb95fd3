#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# cli.sh - vaudit's command line contract on a real fixture: usage errors,
# exit statuses, the three output formats with hostile file names, option
# filters, per-entry errors (as an unprivileged user), and that an audit
# never changes anything.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 chattr losetup setpriv

VT=$top_srcdir/tests/integration/vatest.py
W=$TEST_TMP

# run ARGS...: run vaudit; sets RC, OUT file $W/out, ERR file $W/err
run() {
	"$VAUDIT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}
nlines() { grep -c '' -- "$1"; }
# findings FILE: the finding records of --json output FILE (not the summary,
# whose elapsed time differs from run to run; records.sh checks it)
findings() { grep '^{"record":"finding"' -- "$1"; }

# ---------------------------------------------------------------- usage
run --help
is "$RC" 0 "--help exits 0"
grep -q -- '--json' "$W/out"
ok $? "--help mentions --json"
grep -q 'fstab files (NAME/fstab, fstab.remote, .defaults/fstab' "$W/out" && grep -q '(/etc/vmount,$' "$W/out"
ok $? "--help says the guests' fstab files and vmount's configuration files are audited"

run --version
is "$RC" 0 "--version exits 0"
[ -s "$W/out" ] && grep -q vaudit "$W/out"
ok $? "--version prints the program name and version ($(head -n1 "$W/out"))"

run --list-kinds
is "$RC" 0 "--list-kinds exits 0"
missing_kinds=
for k in legacy-iunlink legacy-notail legacy-barrier missing-barrier barrier-unverified shared-unprotected \
	shared-immutable-no-iunlink iunlink-not-immutable barrier-on-guest cow; do
	grep -q -- "^$k " "$W/out" || missing_kinds+=" $k"
done
is "$missing_kinds" "" "--list-kinds lists every kind of the contract"
# severities fixed by the contract (the others only have to be one of the three)
bad_sev=
for ks in legacy-iunlink:error legacy-notail:warning legacy-barrier:error missing-barrier:error \
	barrier-unverified:warning shared-unprotected:error iunlink-not-immutable:warning cow:info; do
	awk -v k="${ks%%:*}" -v s="${ks#*:}" '$1 == k && $2 == s { f = 1 } END { exit !f }' "$W/out" ||
		bad_sev+=" $ks"
done
is "$bad_sev" "" "--list-kinds: severities as in the contract (cow is info, iunlink-not-immutable a warning)"
awk '$2 != "error" && $2 != "warning" && $2 != "info" { bad = 1 } END { exit bad }' "$W/out"
ok $? "--list-kinds: every severity is error, warning or info"

for opt in --no-such-option -Z; do
	run "$opt" "$W"
	is "$RC" 64 "unknown option $opt exits 64 (a usage error)"
	grep -q -- "${opt#-}" "$W/err"
	ok $? "unknown option $opt: stderr mentions it"
	# one line naming the option; a GNU-style "Try 'vaudit --help'" hint may follow
	is "$(grep -c -- "${opt#-}" "$W/err"):$(grep -v -- "${opt#-}" "$W/err" | grep -vc -- '--help')" "1:0" \
		"unknown option $opt: one line on stderr (plus at most a --help hint)" || diag "$(cat -v "$W/err")"
	[ ! -s "$W/out" ]
	ok $? "unknown option $opt: nothing on stdout"
done

run --only no-such-kind "$W"
is "$RC" 64 "--only with an unknown kind exits 64 (a usage error)"
grep -q "unknown kind 'no-such-kind' (vaudit --list-kinds lists them)" "$W/err"
ok $? "--only with an unknown kind: stderr names it and points to --list-kinds" || diag "$(cat "$W/err")"
run --json -0 "$W"
is "$RC:$(cat "$W/out")" "64:" "--json with -0: refused (one output format), a usage error, nothing on stdout"

# no ROOT, no /etc/vservers and no /vservers: said as such, not as a failed statx
if [ ! -e /etc/vservers ] && [ ! -e /vservers ]; then
	run
	is "$RC:$(cat "$W/out")" "2:" "no ROOT on a host without /etc/vservers and /vservers: exit 2, no output"
	is "$(cat "$W/err")" "vaudit: no configuration (/etc/vservers) and no /vservers on this host: name the ROOT to audit, or the host root of another disk with --host-root" \
		"... and stderr says there is neither (no statx error)"
else
	skip "no ROOT on a host without /etc/vservers and /vservers" "this host has one of them"
fi

# one finding is "1 finding" (a guest without barrier on a kernel that
# cannot read the 2.6 one: barrier-unverified)
mkdir -p "$W/one/g1"
run --summary --no-device-read "$W/one"
if [ "$(grep -c '' "$W/out")" = 1 ]; then
	grep -q '^vaudit: [0-9]* entries, [0-9]* flag reads, 1 finding, 0 errors, ' "$W/err"
	ok $? "--summary: one finding is said '1 finding'" || diag "$(cat "$W/err")"
else
	skip "--summary: one finding is said '1 finding'" "not exactly one finding on this kernel"
fi

missing=$W/does-not-exist
run "$missing"
is "$RC" 3 "missing ROOT: nothing could be read, a partial audit, exit 3"
grep -qF -- "$missing" "$W/err"
ok $? "missing ROOT: stderr names the path" || diag "$(cat -v "$W/err")"

printf 'not a directory\n' >"$W/regular"
run "$W/regular"
is "$RC" 3 "ROOT that is a regular file: a partial audit, exits 3"
grep -qF -- "$W/regular" "$W/err"
ok $? "regular-file ROOT: stderr names the path" || diag "$(cat -v "$W/err")"

# ---------------------------------------------------------------- fixture
# the --v26 fixture: the text output's b u i c column then has upper-case
# letters too (raw 2.6 bits read from the loop device)
img=$(make_fixture ext4 --v26)
ok $? "build ext4 --v26 fixture" || bail_out "cannot build the fixture"
mnt=$(mount_fixture "$img")
ok $? "mount fixture" || bail_out "cannot mount the fixture"
ROOT=$mnt/vservers

python3 "$VT" snapshot "$mnt" >"$W/before" 2>"$W/snap.err"
ok $? "snapshot the filesystem state before any run" || diag "$(cat "$W/snap.err")"

run --json "$ROOT"
is "$RC" 1 "--json exits 1 on the fixture"
cp "$W/out" "$W/json"
njson=$(findings "$W/json" | grep -c '')
diag "$njson findings"
tail -n1 "$W/json" | grep -q '^{"record":"summary",.*"exit":1}$'
ok $? "--json: the last line is the summary record, saying exit 1"

run -0 "$ROOT"
is "$RC" 1 "-0 exits 1"
cp "$W/out" "$W/null"
py_checks python3 "$VT" nullout --root "$ROOT" --json "$W/json" --null "$W/null"

run "$ROOT"
is "$RC" 1 "text mode exits 1"
cp "$W/out" "$W/text"
py_checks python3 "$VT" textout --root "$ROOT" --json "$W/json" --text "$W/text"

awk '$4 ~ /^[-bB][-uU][-iI][-cC]$/ && $4 ~ /[BUC]/ { f = 1 } END { exit !f }' "$W/text"
ok $? "text mode: some b u i c column shows a 2.6 bit set (upper case B, U or C)"

run --no-device-read "$ROOT"
is "$RC" 1 "--no-device-read: text mode exits 1"
cp "$W/out" "$W/text-nodev"
run --no-device-read --json "$ROOT"
is "$RC" 1 "--no-device-read --json exits 1"
cp "$W/out" "$W/json-nodev"
is "$(python3 "$VT" kinds "$W/json-nodev" | grep -c '^barrier-unverified$')" 1 \
	"--no-device-read: ROOT is barrier-unverified (the 2.6 barrier cannot be seen)"
py_checks python3 "$VT" textout --root "$ROOT" --json "$W/json-nodev" --text "$W/text-nodev" \
	--label=--no-device-read

run --only cow --thorough --json "$ROOT"
is "$RC:$(python3 "$VT" kinds "$W/out" | sort -u)" "0:cow" \
	"--only cow --thorough: cow findings only, and info does not make the exit status 1"

run --verbose "$ROOT"
is "$RC" 1 "--verbose exits 1"
LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$W/out"
ok $((! $?)) "--verbose: no control bytes in the output"

run "$ROOT"
cp "$W/out" "$W/loud"
run --quiet "$ROOT"
is "$RC" 1 "--quiet: exit 1 (findings)"
cmp -s "$W/out" "$W/loud"
ok $? "--quiet keeps the findings: the same output as without it"
run --quiet --verbose --json "$ROOT"
grep -q '^{"record":"finding"' "$W/out"
ok $? "--quiet --json: finding records are written"
[ ! -s "$W/err" ]
ok $? "--quiet wins over --verbose for the notes: nothing on stderr" || diag "$(cat "$W/err")"

# stdout on a full disk: the real errno, said once (the summary record
# written after the findings is no second report), exit 2
for mode in text json; do
	opt=; [ "$mode" = json ] && opt=--json
	"$VAUDIT" --quiet $opt "$ROOT" >/dev/full 2>"$W/err"
	RC=$?
	is "$RC:$(cat "$W/err")" "2:vaudit: write error: No space left on device" \
		"$mode output to /dev/full: exit 2, one 'No space left on device' line"
done

run --quiet --fail-on=never "$ROOT"
is "$RC" 0 "--fail-on=never: findings do not make the exit status 1"
run --quiet --fail-on=error "$ROOT"
is "$RC" 1 "--fail-on=error: the fixture has findings of severity error, exit 1"
run --fail-on=sometimes "$ROOT"
is "$RC:$(cat "$W/out")" "64:" "--fail-on=sometimes: a usage error, exit 64"
grep -q "^vaudit: --fail-on takes error, warning or never, not 'sometimes'" "$W/err"
ok $? "--fail-on=sometimes: stderr says the values" || diag "$(cat "$W/err")"
run --fail-on=error --fix --dry-run "$ROOT"
is "$RC" 64 "--fail-on with --fix: refused, a usage error (only an audit's exit status depends on findings)"

run --summary --json "$ROOT"
is "$RC" 1 "--summary exits 1"
cmp -s <(findings "$W/out") <(findings "$W/json")
ok $? "--summary leaves the findings on stdout unchanged"
[ -s "$W/err" ]
ok $? "--summary writes counts to stderr"

run --only legacy-iunlink --json "$ROOT"
is "$RC" 1 "--only legacy-iunlink exits 1"
is "$(python3 "$VT" kinds "$W/out" | sort -u)" legacy-iunlink "--only legacy-iunlink yields only that kind"
is "$(python3 "$VT" inos "$W/out")" "$(python3 "$VT" inos "$W/json" | grep '^legacy-iunlink ')" \
	"--only legacy-iunlink yields the same inodes as the full run"

run --skip legacy-iunlink,shared-unprotected --json "$ROOT"
is "$RC" 1 "--skip exits 1"
is "$(python3 "$VT" inos "$W/out")" \
	"$(python3 "$VT" inos "$W/json" | grep -v -e '^legacy-iunlink ' -e '^shared-unprotected ')" \
	"--skip legacy-iunlink,shared-unprotected removes exactly those kinds"

run --only legacy-notail --thorough --json "$ROOT"
cp "$W/out" "$W/notail-thorough"
run --only legacy-notail --json "$ROOT"
n_default=$(findings "$W/out" | grep -c '')
# ground truth from FS_IOC_GETFLAGS (the snapshot taken before the runs):
# regular files below ROOT with 0x8000 and without 0x10, one per inode,
# and how many of them have one link
read -r n_truth n_private < <(python3 - "$W/before" <<'PY'
import re, sys
inos, private = set(), set()
for line in open(sys.argv[1], 'rb'):
    m = re.match(rb'(\d+) (\d+) (\d+) ([0-9a-f]{8}) .* (vservers/.*)$', line)
    if not m or not m.group(2).startswith(b'100') or m.group(5).startswith(b'vservers/.hash/'):
        continue
    f = int(m.group(4), 16)
    if f & 0x8000 and not f & 0x10:
        inos.add(m.group(1))
        if m.group(3) == b'1':
            private.add(m.group(1))
print(len(inos), len(private))
PY
)
[ "$n_private" -gt 0 ] && [ "$n_default" -eq "$n_truth" ] && cmp -s <(findings "$W/out") <(findings "$W/notail-thorough")
ok $? "the default finds every legacy-notail ($n_default; FS_IOC_GETFLAGS: $n_truth inodes, $n_private private); --thorough changes nothing"

# notes (no vserver syscall, 2.6 bits read from the device) only on a
# terminal or with -v: a cron run mails only what is wrong
run --only cow "$ROOT"
grep -q -e 'iattr syscall' -e 'reading 2.6 attributes' "$W/err"
is "$?" 1 "stderr not a terminal: no notes" || diag "$(cat "$W/err")"
run --only cow -v "$ROOT"
if [ -e /proc/virtual ]; then
	ok 0 "-v: (a vserver kernel: no note to write) # SKIP the syscall is there"
else
	grep -q -e 'iattr syscall' -e 'reading 2.6 attributes' "$W/err"
	ok $? "-v: the notes are written" || diag "$(cat "$W/err")"
fi

# nothing may have changed: modes, links, flags, mtimes, ctimes
python3 "$VT" snapshot "$mnt" >"$W/after"
is "$(diff "$W/before" "$W/after")" "" "no run changed any inode (mode, nlink, flags, size, mtime, ctime)"

# ---------------------------------------------------------------- mounts below ROOT
# A second filesystem mounted inside a guest: skipped by default, audited
# with --cross-mounts.
sub=$(mktemp -d "$W/sub.XXXXXX")
mkdir -p "$sub/tree/x"
printf 'on another filesystem\n' >"$sub/tree/x/flagged"
truncate -s 4M "$sub/sub.img" &&
	mke2fs -q -F -t ext4 -b 1024 -d "$sub/tree" "$sub/sub.img" >/dev/null 2>&1 &&
	mkdir "$ROOT/g1/submount" &&
	submnt=$(mount_fixture "$sub/sub.img") &&
	mount --bind "$submnt" "$ROOT/g1/submount" &&
	defer _t_unmount "$ROOT/g1/submount" &&
	chattr +t "$ROOT/g1/submount/x/flagged" && chattr +i "$ROOT/g1/submount/x/flagged"
if ok $? "mount a filesystem with an i+t file at g1/submount"; then
	subfile=$ROOT/g1/submount/x/flagged
	run -0 --only legacy-iunlink "$ROOT"
	tr '\0' '\n' <"$W/out" | grep -qxF -- "$subfile"
	ok $((! $?)) "default: nothing below a mount point inside a guest is reported"
	run -0 --only legacy-iunlink --cross-mounts "$ROOT"
	is "$RC" 1 "--cross-mounts exits 1"
	tr '\0' '\n' <"$W/out" | grep -qxF -- "$subfile"
	ok $? "--cross-mounts: the i+t file on the other filesystem is reported"
	umount "$ROOT/g1/submount"
fi

# ---------------------------------------------------------------- per-entry errors
# As root nothing is unreadable, so run as nobody on a private tree in /tmp.
U=$(mktemp -d /tmp/vaudit-cli-user.XXXXXX)
defer rm -rf --one-file-system -- "$U"
defer chmod -R u+rwx -- "$U"
UR=$U/vservers
mkdir -p "$UR/g1/locked/inner" "$UR/g2/etc"
printf 'shared\n' >"$UR/g1/shared"
ln "$UR/g1/shared" "$UR/g2/etc/shared"
printf 'hidden\n' >"$UR/g1/locked/inner/file"
chmod 755 "$U"
chmod 000 "$UR/g1/locked"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
if ! "${nobody[@]}" test -x "$VAUDIT"; then
	skip "unreadable entry" "nobody cannot execute $VAUDIT"
else
	"${nobody[@]}" "$VAUDIT" --json "$UR" >"$W/u.out" 2>"$W/u.err"
	RC=$?
	is "$RC" 3 "unreadable directory (as nobody): a partial audit, exit 3"
	grep -q '^{"record":"error",.*"path":"'"$UR/g1/locked"'"' "$W/u.out"
	ok $? "unreadable directory: an error record on stdout names it" || diag "stdout: $(cat -v "$W/u.out")"
	tail -n1 "$W/u.out" | grep -q '^{"record":"summary",.*"partial":true,.*"exit":3}$'
	ok $? "unreadable directory: the summary record says partial, exit 3"
	grep -qF -- "$UR/g1/locked" "$W/u.err"
	ok $? "unreadable directory: stderr names the path" || diag "$(cat -v "$W/u.err")"
	grep -q "^vaudit: " "$W/u.err"
	ok $? "unreadable directory: message starts with 'vaudit: '"
	grep -q '"shared-unprotected"' "$W/u.out"
	ok $? "unreadable directory: the walk goes on (shared file in g1 and g2 still found)" ||
		diag "stdout: $(cat -v "$W/u.out")"
fi

done_testing
