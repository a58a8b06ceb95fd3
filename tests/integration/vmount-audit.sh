#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# vmount-audit.sh - vaudit audits vmount's configuration files
# (config-vmount-invalid): vaudit --host-root PREFIX on a host tree built
# here, whose etc/vmount holds what vmount(8) would be given.  The expected
# findings are a table written by hand from the design below, never from
# vaudit's output.
#
#   webapp, run, bundles  vmount(8)'s worked example; its host sources
#                    (dev/data/logs, dev/data/cloops: image files) exist:
#                    no finding, whichever of the three is the main file
#   bad              line 3 has two fields only (vmount: "expected NAME
#                    TYPE SOURCE DEST")
#   unknownref       line 1 names an entry of a file that does not exist
#   cyc, cyc2        a bind of each other's entry: a dependency cycle,
#                    named where it closes (cyc:1 loading cyc, cyc2:1
#                    loading cyc2)
#   missing          line 1 binds srv/nonexistent (not on this host), line
#                    2 is an image whose source is a directory, line 3 binds
#                    srv (fine)
#   .hidden, subdir/, link (a symlink to webapp)   not configurations
# The host that runs the audit (VAUDIT_TEST_THIS_HOST) is the copy itself,
# but once: an empty one, which lacks the worked example's dev/data.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_vaudit
need_cmd python3 find

CT=$top_srcdir/tests/integration/configtest.py
W=$TEST_TMP
H=$W/host
V=$H/etc/vmount

mkdir -p "$H/etc/vservers/g1" "$H/vservers/g1/etc" "$H/dev/data" "$H/srv" "$V/subdir" &&
	ln -s /vservers/g1 "$H/etc/vservers/g1/vdir" &&
	: >"$H/dev/data/logs" && : >"$H/dev/data/cloops" &&
	printf 'main    bind   bundles:webapp   DEST        options::ro\n' >"$V/webapp" &&
	printf 'config1 tmpfs  none             main/etc    copy::dest size::10M\n' >>"$V/webapp" &&
	printf 'log     share  run:logshare     main/var/log\n' >>"$V/webapp" &&
	printf 'logshare auto /dev/data/logs /data/logshare\n' >"$V/run" &&
	printf 'cloops  auto   /dev/data/cloops     /cloops   options::ro\n' >"$V/bundles" &&
	printf 'webapp  image  cloops/webapp.sqfs   /bundles/webapp\n' >>"$V/bundles" &&
	printf '# a broken entry\nok tmpfs none DEST/tmp\nbroken bind\n' >"$V/bad" &&
	printf 'x bind nosuch:entry DEST/a\n' >"$V/unknownref" &&
	printf 'a bind cyc2:b DEST/x\n' >"$V/cyc" &&
	printf 'b bind cyc:a DEST/y\n' >"$V/cyc2" &&
	printf 'data bind /srv/nonexistent DEST/srv\ndisk image /srv DEST/mnt\nfine bind /srv DEST/srv2\n' \
		>"$V/missing" &&
	printf 'garbage\n' >"$V/.hidden" && printf 'garbage\n' >"$V/subdir/x" && ln -s webapp "$V/link"
ok $? "a host tree with vmount configurations in etc/vmount" || bail_out "cannot build the host tree"
find "$H" -printf '%i %n %m %s %T@ %l %P\n' | sort >"$W/snap.before"
# sources are looked for on the host that runs the audit too: here that
# host is the copy itself, so it has them
export VAUDIT_TEST_THIS_HOST=$H

# KIND SEVERITY GUEST PATH LINE DETAIL (configtest.py findings)
cat >"$W/expect" <<'EOF'
config-vmount-invalid	error	-	etc/vmount/bad	3	expected NAME TYPE SOURCE DEST
config-vmount-invalid	error	-	etc/vmount/unknownref	1	nosuch
config-vmount-invalid	error	-	etc/vmount/cyc	1	dependency cycle
config-vmount-invalid	error	-	etc/vmount/cyc2	1	dependency cycle
config-vmount-invalid	error	-	etc/vmount/missing	1	/srv/nonexistent is not on this host
config-vmount-invalid	error	-	etc/vmount/missing	2	neither a block device nor a filesystem image
EOF

timeout 120 "$VAUDIT" --host-root "$H" --json --no-progress --only config-vmount-invalid >"$W/out" 2>"$W/err"
RC=$?
is "$RC" 1 "--host-root --json: exit status 1"
[ -s "$W/err" ] && diag "stderr: $(cat -v "$W/err")"
py_checks python3 "$CT" findings --json "$W/out" --mnt "$H" --expect "$W/expect" \
	--kinds 'config-vmount-invalid' --label="etc/vmount"

timeout 120 "$VAUDIT" --host-root "$H" --no-progress --only config-vmount-invalid >"$W/text" 2>"$W/err"
grep -qF -- " $V/bad:3: " "$W/text"
ok $? "text: the finding shows FILE:LINE" || diag "$(cat "$W/text")"

# the examples alone: no finding
mkdir -p "$W/h2/etc/vservers" "$W/h2/etc/vmount" "$W/h2/dev/data" &&
	cp -- "$V/webapp" "$V/run" "$V/bundles" "$W/h2/etc/vmount/" &&
	: >"$W/h2/dev/data/logs" && : >"$W/h2/dev/data/cloops"
timeout 120 "$VAUDIT" --host-root "$W/h2" --json --no-progress --only config-vmount-invalid >"$W/out2" 2>"$W/err"
is "$?:$(grep -c '"record":"finding"' "$W/out2")" "0:0" "vmount(8)'s worked example: no finding, exit 0"

# this host lacks dev/data: the two auto entries of the worked example
mkdir -p "$W/thishost"
cat >"$W/expect.lack" <<'EOF'
config-vmount-invalid	error	-	etc/vmount/run	1	/dev/data/logs is in the host root but not on this host
config-vmount-invalid	error	-	etc/vmount/bundles	1	/dev/data/cloops is in the host root but not on this host
EOF
VAUDIT_TEST_THIS_HOST=$W/thishost timeout 120 "$VAUDIT" --host-root "$W/h2" --json --no-progress \
	--only config-vmount-invalid >"$W/out4" 2>"$W/err"
is "$?" 1 "this host lacks the sources: exit status 1"
py_checks python3 "$CT" findings --json "$W/out4" --mnt "$W/h2" --expect "$W/expect.lack" \
	--kinds 'config-vmount-invalid' --label="this host lacks the sources"

# without etc/vmount: nothing to say
rm -rf "$W/h2/etc/vmount"
timeout 120 "$VAUDIT" --host-root "$W/h2" --json --no-progress --only config-vmount-invalid >"$W/out3" 2>"$W/err"
is "$?:$(grep -c '"record":"finding"' "$W/out3"):$(grep -c vmount "$W/err")" "0:0:0" \
	"no etc/vmount: no finding, and stderr does not mention it"

find "$H" -printf '%i %n %m %s %T@ %l %P\n' | sort >"$W/snap.after"
cmp -s "$W/snap.before" "$W/snap.after"
ok $? "nothing changed in the host tree"

done_testing
