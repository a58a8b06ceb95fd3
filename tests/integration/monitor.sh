#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# monitor.sh - vaudit --prometheus FILE and --nagios against the formats'
# own rules, on an unmounted fixture image (mkfixture.sh --no-mount) and a
# live tree in the test's directory whose guest names need escaping
# (a double quote and a backslash, a newline, a byte that is not UTF-8).
#
# The counts come from the --json records of the same audit, counted by
# opstest.py; the metrics file is parsed by a parser written from the
# text exposition format (promtool is not used: Debian packages it only
# with the whole Prometheus server), the plugin line by the output
# grammar of the Nagios plugin guidelines.  The file is replaced
# atomically (the system calls, traced with strace), a symlink in its
# place is replaced and not followed, a file that cannot be written is
# one line and exit 2 with the old file left.  --nagios exits 0 to 3 by
# the plugin conventions, usage errors included.
#
# Needs no root: started as root, it runs itself again as user 65534.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

run_unprivileged "$@"
need_vaudit
need_cmd python3 debugfs mke2fs timeout
python3 -c 'import jsonschema' 2>/dev/null || skip_all "python3-jsonschema is not installed (setup.sh installs it)"
. "$top_srcdir/tests/integration/fixlib.sh"

OT=$top_srcdir/tests/integration/opstest.py
"$VAUDIT" --list-kinds | awk '{print $1, $2}' >"$W/kinds"

now() { date +%s.%N; }

# prom_case LABEL BACKEND FILE ARGS...: the audit with --json (the truth),
# then with --prometheus FILE; the file against the records
prom_case() {
	local label=$1 backend=$2 file=$3 t0 t1 rc
	shift 3
	vrun "$label-json" --json "$@"
	rc=$RC
	t0=$(now)
	vrun "$label-prom" -q --prometheus "$file" "$@"
	t1=$(now)
	is "$RC" "$rc" "$label: --prometheus exits as the audit does ($rc)"
	[ -s "$W/$label-prom.err" ] && diag "stderr: $(head -c 600 "$W/$label-prom.err" | cat -v)"
	py_checks python3 "$OT" prom "$file" --audit "$W/$label-json.out" --kinds "$W/kinds" --exit "$RC" \
		--backend "$backend" --t0 "$t0" --t1 "$t1" --label "$label" "${GUESTS[@]}"
}

# ---- an image: findings of every severity
IMG=$(make_fixture ext4 --v26 --size 16 --no-mount) || bail_out "mkfixture failed"
mkdir -p "$W/prom"
GUESTS=()
prom_case image image "$W/prom/vaudit.prom" --image "$IMG" --prefix /vservers
is "$(ls -A "$W/prom")" "vaudit.prom" "image: only the metrics file is left in its directory (no temporary file)"
is "$(stat -c %a "$W/prom/vaudit.prom")" 644 "image: the metrics file is mode 0644 (node_exporter reads it)"
# the findings are written as without it
vrun plain --image "$IMG" --prefix /vservers
cmp -s "$W/plain.out" "$W/image-prom.out"
ok $? "image: with --prometheus the findings on stdout are those of the plain audit"

# the same run again, traced: temporary file, fsync, rename, fsync of the directory
strace_rc=127
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -o "$W/st.txt" -e trace=openat,write,fsync,rename,renameat,renameat2 \
		"$VAUDIT" -q --prometheus "$W/prom/vaudit.prom" --image "$IMG" --prefix /vservers >/dev/null 2>&1
	strace_rc=$?
fi
# the audit's own status is 1 (findings); strace fails otherwise
if [ "$strace_rc" -eq 1 ]; then
	py_checks python3 "$OT" atomic "$W/st.txt" "$W/prom/vaudit.prom"
else
	skip "--prometheus: the system calls of the replacement" "strace is missing or cannot trace here"
fi

# a symlink where the file goes is replaced, never followed
mkdir -p "$W/prom2"
printf 'not metrics\n' >"$W/target"
ln -s "$W/target" "$W/prom2/vaudit.prom"
vrun symlink -q --prometheus "$W/prom2/vaudit.prom" --image "$IMG" --prefix /vservers
is "$(cat "$W/target")" "not metrics" "a symlink at FILE: its target is left alone"
[ -f "$W/prom2/vaudit.prom" ] && [ ! -L "$W/prom2/vaudit.prom" ]
ok $? "a symlink at FILE: replaced by the metrics file"

# a directory it cannot write: one line, exit 2, the old file left
if [ "$(id -u)" -ne 0 ]; then
	mkdir -p "$W/ro"
	printf 'old\n' >"$W/ro/vaudit.prom"
	chmod 0555 "$W/ro"
	defer chmod 0755 "$W/ro"
	vrun ro -q --prometheus "$W/ro/vaudit.prom" --image "$IMG" --prefix /vservers
	is "$RC" 2 "a metrics file that cannot be written: exit 2"
	is "$(cat "$W/ro.err")" "vaudit: '$W/ro/vaudit.prom': create: Permission denied" \
		"a metrics file that cannot be written: one line, 'vaudit: PATH: what failed: reason'"
	is "$(cat "$W/ro/vaudit.prom")" "old" "a metrics file that cannot be written: the old file is left as it was"
	vrun ronag --nagios --prometheus "$W/ro/vaudit.prom" --image "$IMG" --prefix /vservers
	py_checks python3 "$OT" nagios "$W/ronag.out" "$RC" --unknown --text "create: Permission denied" \
		--label "--nagios, metrics file not written"
	chmod 0755 "$W/ro"
else
	skip "a metrics file that cannot be written" "root writes any directory"
fi

# ---- a live tree: guests whose names need escaping, a file shared by
# three of them (shared-unprotected), a unify leftover in the fourth
R=$W/vs
q='q"uo\te' nl=$'new\nline' bad=$'bad\xffbyte'
for g in plain "$q" "$nl" "$bad"; do mkdir -p "$R/$g/etc"; done
echo shared >"$R/plain/etc/motd"
ln "$R/plain/etc/motd" "$R/$q/etc/motd"
ln "$R/plain/etc/motd" "$R/$nl/etc/motd"
echo x >"$R/$bad/etc/conf"
ln "$R/$bad/etc/conf" "$R/$bad/etc/conf;AbC123"
GUESTS=(--guest plain --guest "$q" --guest "$nl" --guest 'bad\xffbyte')
prom_case live live "$W/prom/live.prom" --no-config "$R"
GUESTS=()

# ---- --nagios: each state, the counts against the records
# nag LABEL FAIL-ON ARGS...: the plugin line against the --json records of the same audit
nag() {
	local label=$1 failon=$2
	shift 2
	vrun "$label-json" --json --fail-on "$failon" "$@"
	vrun "$label" --nagios --fail-on "$failon" "$@"
	[ -s "$W/$label.err" ] && diag "$label stderr: $(head -c 400 "$W/$label.err" | cat -v)"
	py_checks python3 "$OT" nagios "$W/$label.out" "$RC" --audit "$W/$label-json.out" --fail-on "$failon" \
		--label "--nagios $label"
}
nag crit warning --image "$IMG" --prefix /vservers
is "$RC" 2 "--nagios on the image (error findings): CRITICAL, exit 2"
nag crit-error error --image "$IMG" --prefix /vservers
nag never never --image "$IMG" --prefix /vservers
is "$RC" 0 "--nagios --fail-on never: OK, exit 0"
nag warn warning --no-config --only unify-leftover "$R"
is "$RC" 1 "--nagios, a warning finding only (unify-leftover): WARNING, exit 1"
nag warn-error error --no-config --only unify-leftover "$R"
is "$RC" 0 "--nagios --fail-on error, a warning finding only: OK, exit 0"
nag ok warning --no-config --only cow "$R"
is "$RC" 0 "--nagios, nothing found: OK, exit 0"
nag partial warning --no-config --only unify-leftover "$R" "$W/no-such-root"
is "$RC" 3 "--nagios, a ROOT that cannot be read and no error finding: UNKNOWN, exit 3"

# no audit: UNKNOWN with the reason
vrun noimg --nagios --image "$W/no-such.img"
py_checks python3 "$OT" nagios "$W/noimg.out" "$RC" --unknown --text "no-such.img" \
	--label "--nagios, an image that cannot be opened"

# usage errors are UNKNOWN too, on stdout; the usual message stays on stderr
for args in "--bogus" "--json" "--only no-such-kind" "--fix"; do
	# shellcheck disable=SC2086
	vrun usage --nagios $args "$R"
	py_checks python3 "$OT" nagios "$W/usage.out" "$RC" --unknown --text "bad command line" \
		--label "--nagios $args (a usage error)"
	grep -q '^vaudit: ' "$W/usage.err"
	ok $? "--nagios $args: the usage error is on stderr as well"
done
vrun usage-plain --bogus "$R"
is "$RC" 64 "without --nagios a usage error stays exit 64"

"$VAUDIT" --help | grep -q -- '--prometheus FILE' && "$VAUDIT" --help | grep -q -- '--nagios'
ok $? "vaudit --help describes --prometheus and --nagios"

done_testing
