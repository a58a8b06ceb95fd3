#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# fstab.sh - the checks of the guests' fstab files (config-fstab-invalid,
# config-fstab-unsafe): vaudit --host-root PREFIX on a host tree built here
# from real directories, and vaudit --config DIR on the same host built as
# a live configuration (every absolute path in it then starts with the
# tree's own directory).  The expected findings are a table written by
# hand from the design below, never from vaudit's output; a clean fstab
# gives none.
#
# The host (PREFIX), guests made with cp -a of one small tree:
#   vservers/clean   the usual proc/tmpfs/devpts lines, a read-only bind of
#                    a host directory, an rbind of a source with an escaped
#                    space (\040) and both optional fields, a swap line and
#                    a noauto line on /tmp again (secure-mount mounts
#                    neither): no finding
#   vservers/bad     malformed lines (2 and 7 fields, a bad escape, an
#                    empty option, a dump that is no number, a NUL byte in
#                    fstab.remote), an unknown type, a duplicate destination
#                    (also across files), a bind source that does not exist,
#                    a relative bind source
#   vservers/shadow  the reference guest of web (web's refserver.1), with
#                    host keys in its /etc/ssh
#   vservers/web     binds shadow's /etc/ssh (another guest's tree and its
#                    keys), binds vservers/.tmpl/usr (a directory beside
#                    the guests that is no configured guest), binds
#                    /srv/shared read-write
#   vservers/mail    binds /srv/shared/sub read-write (web binds its
#                    parent), the host's /etc/ssh (read-only: the host
#                    keys are secrets all the same), with --host-root the
#                    host's /etc/ssh on /mnt too, and in fstab.remote a
#                    directory whose file matches a '~' entry of its own
#                    exclude list
#   vservers/order   a mount hidden by a later one on a parent directory, a
#                    bind of its own tree before the mount on that tree, two
#                    binds that need each other (a cycle)
#   vservers/esc     a destination through a symlink the guest planted
#                    (mnt/link -> /etc), one that climbs with "..", one that
#                    is itself a symlink (data -> ../../../srv)
#   etc/vservers/.defaults/fstab  the template: a line of 3 fields, a bind
#                    of the shadow guest's whole root (foreign, with keys)
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_vaudit
need_cmd python3 cp find sha256sum timeout

CT=$top_srcdir/tests/integration/configtest.py
W=$TEST_TMP
KINDS='config-fstab-.*'

run() {
	timeout 120 "$VAUDIT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}

# build_host DIR PREFIX: the host above in DIR; PREFIX starts every
# absolute host path written in the configuration ("" for --host-root)
build_host() {
	local H=$1 P=$2 T=$1/tree g
	mkdir -p "$T/etc/ssh" "$T/srv/data" "$T/proc" "$T/tmp" "$T/dev/pts" "$T/mnt" "$T/usr/bin" \
		"$T/var/run" "$T/c" "$T/d" "$T/e/x" "$T/f/y" || return 1
	printf 'guest\n' >"$T/etc/hostname"
	printf 'tool\n' >"$T/usr/bin/tool"
	mkdir -p "$H/vservers" "$H/etc/vservers/.defaults" "$H/etc/ssh" "$H/srv/shared/sub" \
		"$H/srv/pub" "$H/srv/my data" "$H/srv/tokens" "$H/vservers/.tmpl/usr/bin" || return 1
	printf 'host key\n' >"$H/etc/ssh/ssh_host_ed25519_key"
	printf 'public\n' >"$H/srv/pub/readme"
	printf 'token\n' >"$H/srv/tokens/token.txt"
	printf 'shared\n' >"$H/srv/shared/sub/file"
	printf 'tool\n' >"$H/vservers/.tmpl/usr/bin/tool"
	for g in clean bad shadow web mail order esc; do
		cp -a "$T" "$H/vservers/$g" || return 1
		mkdir -p "$H/etc/vservers/$g" &&
			ln -s "$P/vservers/$g" "$H/etc/vservers/$g/vdir" || return 1
	done
	rm -rf "$T"
	printf 'shadow key\n' >"$H/vservers/shadow/etc/ssh/ssh_host_rsa_key"
	ln -s /etc "$H/vservers/esc/mnt/link"
	ln -s ../../../srv "$H/vservers/esc/data"
	mkdir -p "$H/etc/vservers/shadow/apps/vunify" "$H/etc/vservers/web/apps/vunify" \
		"$H/etc/vservers/mail/apps/vunify"
	ln -s ../../../shadow "$H/etc/vservers/web/apps/vunify/refserver.1"
	printf '~/srv/data/tok/token*\n' >"$H/etc/vservers/mail/apps/vunify/exclude"

	local F=$H/etc/vservers
	# clean: nothing to report
	cat >"$F/clean/fstab" <<-EOF
	# the usual lines
	none	/proc		proc	defaults		0 0
	none	/tmp		tmpfs	size=16m,mode=1777	0 0
	none	/dev/pts	devpts	gid=5,mode=620		0 0

	$P/srv/pub	/srv/data	none	bind,ro
	$P/srv/my\\040data	/mnt	none	rbind,ro	0	0
	# not mounted with the guest: a swap line, a noauto line on /tmp again
	/dev/sda2	none	swap	sw	0 0
	none	/tmp		tmpfs	noauto,size=1m
	EOF
	# bad: every line numbered in the expectations below
	cat >"$F/bad/fstab" <<-EOF
	none /proc proc defaults 0 0
	none /sys
	none /tmp tmpfs defaults 0 0 extra
	none /a\\08 tmpfs defaults
	none /b tmpfs rw,,noexec
	none /c tmpfs defaults x
	none /d tmpfz defaults
	   # an indented comment

	none /proc proc defaults
	$P/nonexistent/dir /mnt none bind
	relative/dir /srv none bind
	EOF
	printf 'none /x\0y tmpfs defaults\nnone /d tmpfs defaults\n' >"$F/bad/fstab.remote"
	cat >"$F/web/fstab" <<-EOF
	$P/vservers/shadow/etc/ssh /etc/ssh none bind,ro
	$P/vservers/.tmpl/usr /usr none bind,ro
	$P/srv/shared /srv/data none bind
	EOF
	cat >"$F/mail/fstab" <<-EOF
	$P/srv/shared/sub /srv/data none bind,noexec
	$P/etc/ssh /etc/ssh none bind,ro
	EOF
	# the host's keys at another place in the guest: a secret by the
	# host's path alone, which is /etc/ssh only in the host root
	[ -n "$P" ] || printf '/etc/ssh /mnt none bind,ro\n' >>"$F/mail/fstab"
	printf '%s/srv/tokens /srv/data/tok none bind,ro\n' "$P" >"$F/mail/fstab.remote"
	cat >"$F/order/fstab" <<-EOF
	none /var/run tmpfs defaults
	none /var tmpfs defaults
	$P/vservers/order/c /d none bind
	none /c tmpfs defaults
	$P/vservers/order/e/x /f none bind
	$P/vservers/order/f/y /e none bind
	EOF
	cat >"$F/esc/fstab" <<-EOF
	none /mnt/link/x tmpfs defaults
	none /../../etc tmpfs defaults
	none /data tmpfs defaults
	none /srv/data tmpfs defaults
	EOF
	cat >"$F/.defaults/fstab" <<-EOF
	none /proc proc defaults 0 0
	none /tmp tmpfs
	$P/vservers/shadow /mnt/shadow none bind
	EOF
}

# KIND SEVERITY GUEST PATH LINE DETAIL (configtest.py findings)
cat >"$W/expect" <<'EOF'
# bad: malformed lines
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	2	2 fields
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	3	7 fields
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	4	backslash not followed by three octal digits
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	5	empty option
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	6	not a decimal number
config-fstab-invalid	error	bad	etc/vservers/bad/fstab.remote	1	NUL byte
# bad: an unknown type, a destination twice (in one file, across files)
config-fstab-invalid	warning	bad	etc/vservers/bad/fstab	7	unknown filesystem type 'tmpfz'
config-fstab-invalid	warning	bad	etc/vservers/bad/fstab	10	also the destination of fstab:1
config-fstab-invalid	warning	bad	etc/vservers/bad/fstab.remote	2	also the destination of fstab:7
# bad: bind sources
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	11	does not resolve
config-fstab-invalid	error	bad	etc/vservers/bad/fstab	12	no absolute host path
# web: shadow's /etc/ssh (a reference guest's tree, its host keys), a
# directory beside the guests, a read-write bind mail binds below
config-fstab-unsafe	error	web	etc/vservers/web/fstab	1	root of guest shadow
config-fstab-unsafe	error	web	etc/vservers/web/fstab	1	ssh_host_rsa_key
config-fstab-unsafe	error	web	etc/vservers/web/fstab	2	no configured guest
config-fstab-unsafe	warning	web	etc/vservers/web/fstab	3	guest mail binds
# mail: read-write below web's bind, the host keys, its own '~' entry
config-fstab-unsafe	warning	mail	etc/vservers/mail/fstab	1	guest web binds
config-fstab-unsafe	error	mail	etc/vservers/mail/fstab	2	ssh_host_ed25519_key
config-fstab-unsafe	error	mail	etc/vservers/mail/fstab.remote	1	token.txt (pattern /srv/data/tok/token*)
# order: /var/run hidden by /var; /c bound before /c is mounted; 5 and 6 a cycle
config-fstab-invalid	error	order	etc/vservers/order/fstab	1	hides this one
config-fstab-invalid	error	order	etc/vservers/order/fstab	3	mounts later
config-fstab-invalid	error	order	etc/vservers/order/fstab	5	cycle
config-fstab-invalid	error	order	etc/vservers/order/fstab	6	cycle
# esc: through the planted link, climbing, onto a link
config-fstab-unsafe	error	esc	etc/vservers/esc/fstab	1	passes /mnt/link
config-fstab-unsafe	error	esc	etc/vservers/esc/fstab	2	climbs above the guest root
config-fstab-unsafe	error	esc	etc/vservers/esc/fstab	3	passes /data
# the template: 3 fields; the shadow guest's whole root, with its keys
config-fstab-invalid	error	-	etc/vservers/.defaults/fstab	2	3 fields
config-fstab-unsafe	error	-	etc/vservers/.defaults/fstab	3	root of guest shadow
config-fstab-unsafe	error	-	etc/vservers/.defaults/fstab	3	ssh_host_rsa_key
EOF

# --host-root only: mail's third line (see build_host)
{ cat "$W/expect"
  printf 'config-fstab-unsafe\terror\tmail\tetc/vservers/mail/fstab\t3\tssh_host_ed25519_key\n'
} >"$W/expect.host"

# ---------------------------------------------------------------- --host-root
H=$W/host
build_host "$H" ""
# the sources are looked for on the host that runs the audit too (the copy's
# guests will run there): here that host is the copy itself, so it has them
export VAUDIT_TEST_THIS_HOST=$H
ok $? "build the host tree (guests made with cp -a)"
find "$H" -printf '%i %n %m %s %T@ %l %P\n' | sort >"$W/snap.before"

run --host-root "$H" --json --no-progress --only config-fstab-invalid,config-fstab-unsafe
is "$RC" 1 "--host-root --json: exit status 1"
[ -s "$W/err" ] && diag "stderr: $(cat -v "$W/err")"
cp "$W/out" "$W/host.json"
py_checks python3 "$CT" findings --json "$W/host.json" --mnt "$H" --expect "$W/expect.host" \
	--kinds "$KINDS" --label="--host-root"
is "$(grep -c '"guest":"clean"' "$W/host.json")" 0 "--host-root: the clean guest's fstab gives no finding"
py_checks python3 "$CT" inside --json "$W/host.json" --mnt "$H" --label="--host-root"

run --host-root "$H" --no-progress --only config-fstab-invalid,config-fstab-unsafe
is "$RC:$(grep -c '' "$W/out")" "1:$(grep -c '^{"record":"finding"' "$W/host.json")" \
	"--host-root text: one line per finding"
grep -qF -- " $H/etc/vservers/bad/fstab:4: " "$W/out"
ok $? "--host-root text: a finding shows FILE:LINE" || diag "$(head -3 "$W/out")"

# the records are valid against the schema
RP=$top_srcdir/tests/integration/records.py
SCHEMA=$top_srcdir/schema/vaudit-records.schema.json
py_checks python3 "$RP" "$SCHEMA" "$W/host.json" --label="--host-root fstab findings" --exit 1 \
	--want finding=+

# --list --json: each guest's fstab files, in mount order, with their
# well-formed lines (bad: 5 of 12 lines and 1 of 2; clean: all 7)
run --list --json --host-root "$H"
is "$RC" 0 "--list --json --host-root: exit 0"
cp "$W/out" "$W/list.json"
py_checks python3 "$RP" "$SCHEMA" "$W/list.json" --label="--list" --exit 0 --last none --want guest=7
is "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    print(r["name"], " ".join("%s=%d" % (f["file"][len(sys.argv[2]) + 1:], f["mounts"]) for f in r["fstab"]))
' "$W/list.json" "$H")" "bad etc/vservers/bad/fstab=5 etc/vservers/bad/fstab.remote=1
clean etc/vservers/clean/fstab=7
esc etc/vservers/esc/fstab=4
mail etc/vservers/mail/fstab=3 etc/vservers/mail/fstab.remote=1
order etc/vservers/order/fstab=6
shadow 
web etc/vservers/web/fstab=3" "--list --json: the fstab files of each guest and their mounts"

# the whole audit: the same fstab findings among the others
run --host-root "$H" --json --no-progress
py_checks python3 "$CT" findings --json "$W/out" --mnt "$H" --expect "$W/expect.host" \
	--kinds "$KINDS" --label="--host-root, all kinds"

run --host-root "$H" --json --no-progress --skip config-fstab-invalid,config-fstab-unsafe
is "$(grep -c '"kind":"config-fstab-' "$W/out")" 0 "--skip the fstab kinds: none of them"

# ---------------------------------------------------------------- live --config
L=$W/live
build_host "$L" "$L"
ok $? "build the same host as a live configuration"
run --config "$L/etc/vservers" --json --no-progress --only config-fstab-invalid,config-fstab-unsafe
is "$RC" 1 "live --config --json: exit status 1"
[ -s "$W/err" ] && diag "stderr: $(cat -v "$W/err")"
cp "$W/out" "$W/live.json"
py_checks python3 "$CT" findings --json "$W/live.json" --mnt "$L" --expect "$W/expect" \
	--kinds "$KINDS" --label="live --config"

# ---------------------------------------------------------------- hostile input
X=$W/hostile
mkdir -p "$X/vservers/g/etc" "$X/etc/vservers/g"
ln -s /vservers/g "$X/etc/vservers/g/vdir"
head -c 900000 /dev/zero | tr '\0' 'a' >"$X/etc/vservers/g/fstab"
printf ' /x\n' >>"$X/etc/vservers/g/fstab"
run --host-root "$X" --json --no-progress --only config-fstab-invalid,config-fstab-unsafe
printf 'config-fstab-invalid\terror\tg\tetc/vservers/g/fstab\t1\t2 fields\n' >"$W/expect.huge"
py_checks python3 "$CT" findings --json "$W/out" --mnt "$X" --expect "$W/expect.huge" \
	--kinds "$KINDS" --label="a line of 900000 bytes"
# 30000 lines: line pair i (0..14999) mounts /dA/x then /dB, A = i % 5000,
# B = i % 7000.  Duplicates: each /dA/x three times (10000 later ones),
# /dB three times for B < 1000 and twice for the others (2000 + 6000).
# Hidden by a later /dA: the /dA/x of pair i when a pair j >= i has
# B = A, j in {A, A+7000, A+14000}: all three for A < 1000 (3000), the
# first two for the others (8000).  18000 + 11000 findings; the order
# checks stay n log n (the timeout of run is 120 s).
python3 -c '
import sys
for i in range(15000):
    sys.stdout.write("none /d%d/x tmpfs defaults\nnone /d%d tmpfs defaults\n" % (i % 5000, i % 7000))
' >"$X/etc/vservers/g/fstab"
SECONDS=0
run --host-root "$X" --json --no-progress --only config-fstab-invalid
is "$RC:$(grep -c '"kind":"config-fstab-invalid"' "$W/out")" "1:29000" \
	"30000 lines: 18000 duplicate destinations and 11000 mounts hidden by a later one (in $SECONDS s)"
# a hostile guest name: a newline and a byte that is not UTF-8
N=$'n\nl\xff'
mkdir -p "$X/etc/vservers/$N" "$X/vservers/$N"
ln -s "/vservers/$N" "$X/etc/vservers/$N/vdir"
printf 'none /x\n' >"$X/etc/vservers/$N/fstab"
rm -f "$X/etc/vservers/g/fstab"
run --host-root "$X" --json --no-progress --only config-fstab-invalid
python3 - "$W/out" >"$W/hostile.count" <<'PY'
import json, sys, base64
n = 0
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get('record') != 'finding':
        continue
    p = r.get('path') or base64.b64decode(r['path_b64']).decode('latin-1')
    g = r.get('guest') or base64.b64decode(r.get('guest_b64', '')).decode('latin-1')
    n += p.endswith('/fstab') and g == 'n\nl\xff' and r.get('line') == 1
print(n)
PY
is "$RC:$(cat "$W/hostile.count")" "1:1" "a guest named with a newline and byte 0xff: its fstab line 1, the name intact in --json"
head -c 1100000 /dev/zero >"$X/etc/vservers/g/fstab"
run --host-root "$X" --json --no-progress
is "$RC:$(grep -c 'larger than 1 MiB' "$W/out")" "1:1" "an fstab larger than 1 MiB: one config-invalid finding naming it"
rm -f "$X/etc/vservers/g/fstab"
mkfifo "$X/etc/vservers/g/fstab"
run --host-root "$X" --json --no-progress
is "$RC:$(grep -c '"kind":"config-invalid".*fstab' "$W/out")" "1:1" "an fstab that is a FIFO: config-invalid, no hang"

# ---------------------------------------------------------------- sources this host lacks
# an offline copy whose guest binds /srv/pub (on this host too) and
# /srv/gone (in the copy only): this host (VAUDIT_TEST_THIS_HOST) lacks the
# second, a finding at line 2; the first is fine
M=$W/migrate
mkdir -p "$M/etc/vservers/mig" "$M/vservers/mig/srv/a" "$M/vservers/mig/srv/b" "$M/srv/pub" "$M/srv/gone" \
	"$W/thishost/srv/pub" &&
	ln -s /vservers/mig "$M/etc/vservers/mig/vdir" &&
	printf '/srv/pub /srv/a none bind,ro\n/srv/gone /srv/b none bind,ro\n' >"$M/etc/vservers/mig/fstab"
ok $? "a copy whose guest binds /srv/pub and /srv/gone; this host has /srv/pub only"
printf 'config-fstab-invalid\terror\tmig\tetc/vservers/mig/fstab\t2\t/srv/gone is in the host root but not on this host\n' \
	>"$W/expect.mig"
VAUDIT_TEST_THIS_HOST=$W/thishost run --host-root "$M" --json --no-progress \
	--only config-fstab-invalid,config-fstab-unsafe
is "$RC" 1 "sources this host lacks: exit status 1"
py_checks python3 "$CT" findings --json "$W/out" --mnt "$M" --expect "$W/expect.mig" \
	--kinds "$KINDS" --label="sources this host lacks"

# ---------------------------------------------------------------- nothing changed
find "$H" -printf '%i %n %m %s %T@ %l %P\n' | sort >"$W/snap.after"
is "$(diff "$W/snap.before" "$W/snap.after" | head -20)" "" "nothing changed in the host tree"

done_testing
