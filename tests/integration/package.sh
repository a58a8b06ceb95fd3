#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# package.sh - the Debian package: dpkg-buildpackage -us -uc -b on a copy
# of the sources in the test's directory (the files git tracks, with their
# changes, or the distributed tree), lintian without errors, then the
# package unpacked into a root of its own (dpkg-deb -x: never installed on
# this host) and checked there: its file list and modes (/var/lib/vaudit
# 0700), its maintainer scripts, the installed programs run from it
# (--version, an audit of a demo tree whose records the installed JSON
# Schema accepts), the installed units verified.  make install with DESTDIR
# in the copy makes the journals' directory, mode 0700.  The package is
# built without its own test run (DEB_BUILD_OPTIONS=nocheck: make check
# runs those tests); the whole test takes half a minute on two idle cores,
# about a minute and a half beside the rest of make -j2 check.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_cmd dpkg-buildpackage dpkg-deb dh python3
dpkg-query -W -f='${Status}' debhelper 2>/dev/null | grep -q 'ok installed' ||
	skip_all "debhelper is not installed (setup.sh deps installs it)"
# dpkg-checkbuilddeps: a package this host lacks is a skip, not a failure
missing=$(cd "$top_srcdir" && dpkg-checkbuilddeps 2>&1) ||
	skip_all "build dependencies missing: ${missing##*: }"

W=$TEST_TMP
SRC=$W/src/vaudit
mkdir -p "$SRC"

# ------------------------------------------------------------- the build
if git -C "$top_srcdir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] || [ -L "$f" ] && printf "%s\0" "$f"; done' _ |
		tar --null -T - -c) | tar -x -C "$SRC"
else
	# a distributed tree: only sources are in it
	cp -a "$top_srcdir/." "$SRC/"
	chmod -R u+w "$SRC"
fi
ok $? "a copy of the sources in the test's directory"

start=$(date +%s)
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b" || diag "$(tail -n 40 "$W/build.log")"
diag "package built in $(($(date +%s) - start)) s"
DEB=$(ls "$W/src"/vaudit_*_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || bail_out "no package was built"
version=$(dpkg-deb -f "$DEB" Version)
is "$version" "$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")" \
	"the package's version is the configured one"

if command -v lintian >/dev/null 2>&1; then
	lint=$(lintian --fail-on none "$DEB" "$W/src"/vaudit_*.changes 2>&1 | grep -v '^running with root')
	is "$(grep '^E:' <<<"$lint")" "" "lintian: no errors"
	[ -n "$lint" ] && diag "lintian: $lint"
else
	skip "lintian: no errors" "lintian is not installed"
fi

# ------------------------------------------------------ the file list
list=$(dpkg-deb -c "$DEB" | awk '{ p = $6; sub(/^\./, "", p); sub(/\/$/, "", p); print $1, p }')
want=(
	/usr/sbin/vaudit /usr/sbin/vunify /usr/sbin/vhashify /usr/sbin/vmount
	/usr/sbin/vclone /usr/sbin/vcopy
	/usr/share/man/man8/vaudit.8.gz /usr/share/man/man8/vunify.8.gz
	/usr/share/man/man8/vhashify.8.gz /usr/share/man/man8/vmount.8.gz
	/usr/share/man/man8/vclone.8.gz /usr/share/man/man8/vcopy.8.gz
	/usr/share/man/man8/vaudit-tui.8.gz /usr/share/man/man5/vserver-config.5.gz
	/usr/share/bash-completion/completions/vaudit /usr/share/bash-completion/completions/vunify
	/usr/share/bash-completion/completions/vhashify /usr/share/bash-completion/completions/vmount
	/usr/share/bash-completion/completions/vclone /usr/share/bash-completion/completions/vcopy
	/usr/share/zsh/vendor-completions/_vaudit
	/lib/systemd/system/vaudit.service /lib/systemd/system/vaudit.timer
	/etc/logrotate.d/vaudit
	/usr/share/vaudit/vaudit-records.schema.json
	/usr/share/doc/vaudit/copyright
	/usr/share/doc/vaudit/examples/cron/vaudit
	/usr/share/doc/vaudit/examples/ansible/pre-upgrade.yml
)
absent=
for f in "${want[@]}"; do
	grep -q " $f\$" <<<"$list" || absent+=" $f"
done
is "$absent" "" "the package holds the programs, man pages, completion, units, logrotate snippet, schema, examples"
grep -q '^lrwxrwxrwx /usr/sbin/vaudit-tui$' <<<"$list"
ok $? "vaudit-tui is a symbolic link"
is "$(awk '$2 == "/var/lib/vaudit" { print $1 }' <<<"$list")" "drwx------" "/var/lib/vaudit: mode 0700"
is "$(awk '$2 == "/var/log/vaudit" { print $1 }' <<<"$list")" "drwxr-x---" "/var/log/vaudit: mode 0750"
is "$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | grep -c 'libvcore\|libvaudit')" 0 \
	"the project's own libraries are linked in, not dependencies"

# ------------------------------------------------ the maintainer scripts
CTL=$W/control
dpkg-deb -e "$DEB" "$CTL"
is "$(cat "$CTL/conffiles")" "/etc/logrotate.d/vaudit" "conffiles: the logrotate snippet only"
bad=
for s in preinst postinst prerm postrm; do
	[ -e "$CTL/$s" ] || continue
	sh -n "$CTL/$s" || bad+=" $s:syntax"
	grep -q "start 'vaudit.service'\|enable 'vaudit.service'" "$CTL/$s" && bad+=" $s:starts-the-service"
	grep -q "deb-systemd-helper enable 'vaudit.timer'" "$CTL/$s" &&
		! grep -q "was-enabled 'vaudit.timer'" "$CTL/$s" && bad+=" $s:enables-the-timer"
done
is "$bad" "" "maintainer scripts: valid sh, the service never started by the package, the timer not enabled"

# ------------------------------------------------- unpacked and run
ROOT=$W/root
mkdir -p "$ROOT"
dpkg-deb -x "$DEB" "$ROOT"
ok $? "dpkg-deb -x into a root of its own"
is "$(stat -c %a "$ROOT/var/lib/vaudit")" 700 "unpacked: /var/lib/vaudit is 0700"
V=$ROOT/usr/sbin/vaudit
is "$(ldd "$V" 2>&1 | grep -c 'not found')" 0 "the installed vaudit finds its libraries (no LD_LIBRARY_PATH)"
is "$("$V" --version)" "vaudit (vaudit) $version" "installed vaudit --version"
for p in vunify vhashify vmount vclone vcopy; do
	"$ROOT/usr/sbin/$p" --version >/dev/null 2>&1
	ok $? "installed $p --version"
done

D=$W/demo/vservers
mkdir -p "$D/alpha/etc" "$D/beta/etc" && echo x >"$D/alpha/etc/motd" && ln "$D/alpha/etc/motd" "$D/beta/etc/motd"
"$V" --json --no-progress --no-config "$D" >"$W/audit.jsonl" 2>"$W/audit.err"
is "$?" 1 "installed vaudit audits a demo host: exit 1 (a shared file)" || diag "$(cat "$W/audit.err")"
grep -q '"kind":"shared-unprotected".*"path":"[^"]*/alpha/etc/motd"' "$W/audit.jsonl"
ok $? "the audit finds the shared, unprotected file"
if python3 -c 'import jsonschema' 2>/dev/null; then
	python3 - "$ROOT/usr/share/vaudit/vaudit-records.schema.json" "$W/audit.jsonl" <<'EOF'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
v = cls(schema)
n = 0
for line in open(sys.argv[2]):
    v.validate(json.loads(line))
    n += 1
sys.exit(0 if n >= 2 else 1)
EOF
	ok $? "the installed JSON Schema accepts the installed vaudit's records"
else
	skip "the installed JSON Schema accepts the records" "python3-jsonschema is not installed"
fi

if command -v man >/dev/null 2>&1; then
	out=$(MANWIDTH=80 man -l "$ROOT/usr/share/man/man8/vaudit.8.gz" 2>&1 | grep -c 'SCHEDULED AUDITS')
	[ "$out" -ge 1 ]
	ok $? "the installed vaudit(8) renders, with its SCHEDULED AUDITS section"
fi
if [ -r /usr/share/bash-completion/bash_completion ]; then
	bash --norc --noprofile -c '. /usr/share/bash-completion/bash_completion >/dev/null 2>&1; . "$1"; complete -p vaudit' \
		_ "$ROOT/usr/share/bash-completion/completions/vaudit" >/dev/null 2>&1
	ok $? "the installed bash completion registers vaudit"
fi

if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$W/units"
	sed "s|^ExecStart=/usr/sbin/vaudit |ExecStart=$V |" "$ROOT/lib/systemd/system/vaudit.service" >"$W/units/vaudit.service"
	cp "$ROOT/lib/systemd/system/vaudit.timer" "$W/units/"
	out=$(cd "$W/units" && MANPATH=$ROOT/usr/share/man systemd-analyze verify vaudit.service vaudit.timer 2>&1)
	ok $? "the installed units pass systemd-analyze verify (with the installed program and man page)" || diag "$out"
	grep -q '^ExecStart=/usr/sbin/vaudit ' "$ROOT/lib/systemd/system/vaudit.service"
	ok $? "the installed vaudit.service runs /usr/sbin/vaudit"
fi

# ---------------------------------------------- make install, DESTDIR
make -s -C "$SRC" install DESTDIR="$W/destdir" >"$W/install.log" 2>&1
ok $? "make install DESTDIR=... in the built copy" || diag "$(tail -n 20 "$W/install.log")"
is "$(stat -c %a "$W/destdir/var/lib/vaudit" 2>&1)" 700 \
	"make install makes \$(localstatedir)/lib/vaudit, mode 0700, under DESTDIR"

done_testing
