#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# schedule.sh - the scheduled audits of contrib/: vaudit.service and
# vaudit.timer pass systemd-analyze verify; the service's command line,
# run as systemd would run it (its ExecStart with VAUDIT_OPTIONS, stdout
# appended to a log), audits a demo tree quietly and fails on findings; on
# a loop-mounted fixture (root) it finds the same under the unit's
# CapabilityBoundingSet and NoNewPrivileges as with every capability, the
# inode tables read from the device; the cron example's line does what
# the service does; the logrotate snippet rotates the log (logrotate with
# a state file of its own, on a copy naming a log in the test's directory).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_vaudit
need_cmd systemd-analyze logrotate python3
W=$TEST_TMP
UNIT=$top_builddir/contrib/systemd/vaudit.service
TIMER=$top_srcdir/contrib/systemd/vaudit.timer
[ -r "$UNIT" ] || skip_all "contrib/systemd/vaudit.service not built"

# unit_values FILE KEY: the values of KEY= in FILE, one a line
unit_values() {
	sed -n "s/^$2=//p" "$1"
}

# --------------------------------------------------------------- units
# verify needs the command to exist: the same unit with ExecStart on the
# built program
mkdir -p "$W/units"
sed "s|^ExecStart=[^ ]*/vaudit |ExecStart=$VAUDIT |" "$UNIT" >"$W/units/vaudit.service"
cp "$TIMER" "$W/units/vaudit.timer"
# Documentation=man:vaudit(8): the built page
mkdir -p "$W/man/man8" && ln -s "$top_builddir/man/vaudit.8" "$W/man/man8/vaudit.8"
out=$(cd "$W/units" && MANPATH=$W/man systemd-analyze verify vaudit.service vaudit.timer 2>&1)
ok $? "systemd-analyze verify vaudit.service vaudit.timer" || diag "$out"
is "$(grep -v 'Failed to .*bus\|not running with systemd\|Falling back' <<<"$out")" "" \
	"systemd-analyze verify: no complaint about the units"
exposure=$(systemd-analyze security --offline=yes "$W/units/vaudit.service" 2>/dev/null | tail -n 1)
[ -n "$exposure" ] && diag "systemd-analyze security: $exposure"

exec_start=$(unit_values "$UNIT" ExecStart)
case $exec_start in
"@"* | "") ok 1 "vaudit.service: ExecStart names the installed program" ;;
*) is "${exec_start%% *}" "$(sed -n 's/^sbindir = //p' "$top_builddir/Makefile" |
	sed "s|\${exec_prefix}|$(sed -n 's/^exec_prefix = //p' "$top_builddir/Makefile")|;s|\${prefix}|$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")|")/vaudit" \
	"vaudit.service: ExecStart is sbindir's vaudit" ;;
esac
is "$(unit_values "$TIMER" OnCalendar) $(unit_values "$TIMER" Persistent)" "daily true" \
	"vaudit.timer: daily, Persistent (a missed run happens at boot)"
[ -n "$(unit_values "$TIMER" RandomizedDelaySec)" ]
ok $? "vaudit.timer: RandomizedDelaySec spreads a fleet's audits"
is "$(unit_values "$UNIT" ReadWritePaths) $(unit_values "$UNIT" ProtectSystem) $(unit_values "$UNIT" NoNewPrivileges)" \
	"/var/log/vaudit strict yes" "vaudit.service: read-only but for /var/log/vaudit, no new privileges"
is "$(unit_values "$UNIT" StandardOutput)" "append:/var/log/vaudit/vaudit.jsonl" \
	"vaudit.service: the records are appended to /var/log/vaudit/vaudit.jsonl"

# ------------------------------------------------- the service's command
# service_run LOG OPTIONS...: ExecStart's arguments (VAUDIT_OPTIONS as
# systemd splits it), stdout appended to LOG; RC and $W/err
svc_args=${exec_start#* }
svc_args=${svc_args//'$VAUDIT_OPTIONS'/}
service_run() {
	local log=$1
	shift
	# shellcheck disable=SC2086  # split as systemd splits it
	"$VAUDIT" $svc_args "$@" >>"$log" 2>"$W/err" </dev/null
	RC=$?
}

# a demo host: two guests, nothing shared
D=$W/demo/vservers
mkdir -p "$D/alpha/etc" "$D/beta/etc" && echo a >"$D/alpha/etc/hostname" && echo b >"$D/beta/etc/hostname"
LOG=$W/log/vaudit.jsonl
mkdir -p "$W/log"
service_run "$LOG" --no-config --fail-on error "$D"
is "$RC" 0 "the service's command on a clean demo host: exit 0"
is "$(cat "$W/err")" "" "the service's command: quiet (nothing on stderr) when all is well"
is "$(tail -n 1 "$LOG" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["record"], r["exit"])')" \
	"summary 0" "the log ends with the run's summary record"
ln "$D/alpha/etc/hostname" "$D/beta/etc/shared" 2>/dev/null
service_run "$LOG" --no-config --fail-on error "$D"
is "$RC" 1 "findings of --fail-on severity: exit 1, the unit fails"
is "$(grep -c '"record":"summary"' "$LOG")" 2 "the second run is appended: two summary records"
grep -q '"kind":"shared-unprotected"' "$LOG"
ok $? "the second run's finding is in the log"
rm -f "$D/beta/etc/shared"

# ------------------------------------------------ capabilities (root)
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null 2>&1 || ! command -v mke2fs >/dev/null 2>&1; then
	skip "the unit's capabilities suffice on a mounted ext4" "needs root, setpriv and mke2fs"
else
	caps=$(unit_values "$UNIT" CapabilityBoundingSet | tr 'A-Z' 'a-z' | sed 's/cap_//g; s/ /,+/g')
	img=$(make_fixture ext4 --v26) && mnt=$(mount_fixture_ro "$img")
	if [ -z "${mnt-}" ]; then
		ok 1 "the unit's capabilities on a mounted ext4: a fixture to audit (make_fixture, mount_fixture_ro)"
	else
		service_run "$W/full.jsonl" --no-config "$mnt/vservers"
		full_rc=$RC
		setpriv --bounding-set "-all,+$caps" --inh-caps=-all --no-new-privs -- \
			"$VAUDIT" $svc_args --no-config "$mnt/vservers" \
			>"$W/bound.jsonl" 2>"$W/bound.err" </dev/null
		bound_rc=$?
		is "$bound_rc" "$full_rc" "CapabilityBoundingSet=$caps, NoNewPrivileges: the same exit status"
		strip() { python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    r.pop("elapsed", None)
    print(json.dumps(r, sort_keys=True))' "$1"; }
		is "$(strip "$W/bound.jsonl")" "$(strip "$W/full.jsonl")" \
			"CapabilityBoundingSet: the same records as with every capability" ||
			diag "$(cat "$W/bound.err")"
		is "$(tail -n 1 "$W/bound.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["audit"]["method"])')" \
			"inode-tables" "CapabilityBoundingSet: the inode tables are read from the device"
	fi
fi

# ----------------------------------------------------------------- cron
CRON=$top_srcdir/contrib/cron/vaudit
line=$(grep -v '^#' "$CRON" | grep -v '^[A-Z_]*=' | grep -v '^$')
is "$(grep -c '' <<<"$line")" 1 "cron example: one job line"
read -r m h dom mon dow user cmd <<<"$line"
is "$user" root "cron example: a /etc/cron.d line (five time fields, then the user)"
case "$m $h $dom $mon $dow" in
*[!0-9*\ ]*) ok 1 "cron example: a daily time ($m $h $dom $mon $dow)" ;;
*) is "$dom $mon $dow" "* * *" "cron example: daily" ;;
esac
[[ $cmd != *%* ]]
ok $? "cron example: no % in the command (cron would cut it there)"
# the job, with its directories in the test's
cmd=${cmd//\/var\/log\/vaudit/$W/cronlog}
cmd=${cmd//\/run\/vaudit-cron.lock/$W/cron.lock}
cronrun() {
	env -i PATH="$top_builddir:/usr/sbin:/usr/bin:/sbin:/bin" VAUDIT_OPTIONS="$1" \
		/bin/sh -c "$cmd" >"$W/cron.out" 2>&1
}
cronrun "--no-config --fail-on error $D"
is "$(cat "$W/cron.out")" "" "cron example on a clean host: no output, so no mail"
is "$(stat -c %a "$W/cronlog")" 750 "cron example: makes the log directory, mode 0750"
is "$(grep -c '"record":"summary"' "$W/cronlog/vaudit.jsonl")" 1 "cron example: the records in the log"
cronrun "--no-config --fail-on error $W/absent"
grep -q 'exited 3' "$W/cron.out" && grep -q "absent" "$W/cron.out"
ok $? "cron example on a failing audit: the error and the exit status, for the mail" || diag "$(cat "$W/cron.out")"

# ------------------------------------------------------------ logrotate
ROT=$W/rot
mkdir -p "$ROT/log" && chmod 0750 "$ROT/log"
sed "s|/var/log/vaudit/|$ROT/log/|" "$top_srcdir/contrib/logrotate/vaudit" >"$ROT/vaudit.conf"
printf '{"record":"summary"}\n' >"$ROT/log/vaudit.jsonl"
out=$(logrotate -d -s "$ROT/state" "$ROT/vaudit.conf" 2>&1)
ok $? "logrotate -d accepts the snippet" || diag "$out"
! grep -qi 'error' <<<"$out"
ok $? "logrotate -d: no error" || diag "$out"
out=$(logrotate -f -s "$ROT/state" "$ROT/vaudit.conf" 2>&1)
ok $? "logrotate -f rotates" || diag "$out"
rotated=$(cd "$ROT/log" && ls)
[[ $rotated == vaudit.jsonl-[0-9]* ]] && [ "$(grep -c '' <<<"$rotated")" = 1 ]
ok $? "the log moved to vaudit.jsonl-DATE, no new empty log made (the next run makes it)" || diag "$rotated"
grep -q summary "$ROT/log/"vaudit.jsonl-* 2>/dev/null
ok $? "the rotated log is uncompressed until the next rotation (delaycompress)"

done_testing
