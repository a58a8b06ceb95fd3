#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# ansible.sh - contrib/ansible/pre-upgrade.yml: ansible-playbook
# --syntax-check, then real runs on localhost (connection local, the built
# vaudit) against demo hosts in the test's directory: a host fit for the
# upgrade passes (warnings reported, not fatal), one with a shared
# unprotected file fails the play, a ROOT that cannot be read fails it
# too, and so does a host without the program; the records of each audit
# are on the "controller" (here the test's directory), ending with their
# summary record.  Ansible's own files
# (temporary directories, facts) stay in the test's directory.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_vaudit
need_cmd ansible-playbook python3

W=$TEST_TMP
PLAY=$top_srcdir/contrib/ansible/pre-upgrade.yml
# Ansible refuses to run without a UTF-8 locale (C.UTF-8 is always there)
export LC_ALL=C.UTF-8
mkdir -p "$W/home" "$W/ansible-tmp"
: >"$W/ansible.cfg"
export HOME=$W/home ANSIBLE_CONFIG=$W/ansible.cfg ANSIBLE_LOCAL_TEMP=$W/ansible-tmp \
	ANSIBLE_REMOTE_TEMP=$W/ansible-tmp ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
	ANSIBLE_PYTHON_INTERPRETER=$(command -v python3) ANSIBLE_HOST_KEY_CHECKING=0

out=$(ansible-playbook --syntax-check -i localhost, "$PLAY" 2>&1)
ok $? "ansible-playbook --syntax-check" || diag "$out"

# play NAME ROOT: the playbook on localhost, auditing ROOT without a
# configuration; RC, $W/NAME.out, records in $W/reports-NAME
play() {
	local name=$1 root=$2
	# become is for real hosts; here the test's user runs it all
	ansible-playbook -i localhost, -c local "$PLAY" \
		-e ansible_become=false \
		-e "$(python3 -c 'import json,sys; print(json.dumps({"vaudit": sys.argv[1], "vaudit_args": ["--no-config", sys.argv[2]], "vaudit_report_dir": sys.argv[3]}))' \
			"$VAUDIT" "$root" "$W/reports-$name")" >"$W/$name.out" 2>&1
	RC=$?
}

# summary NAME: "EXIT ERRORS" of the summary record collected for localhost
summary() {
	python3 - "$W/reports-$1/localhost.jsonl" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
s = recs[-1]
print(s["record"], s["exit"], s["audit"]["by_severity"]["error"])
EOF
}

D=$W/demo/vservers
mkdir -p "$D/alpha/etc" "$D/beta/etc" && echo a >"$D/alpha/etc/motd" && echo b >"$D/beta/etc/motd"

play clean "$D"
is "$RC" 0 "a host fit for the upgrade: the play succeeds" || diag "$(cat "$W/clean.out")"
is "$(summary clean)" "summary 0 0" "its records are collected on the controller, the summary last"
grep -q 'localhost: vaudit exited 0: 0 errors, [0-9]* warnings' "$W/clean.out"
ok $? "the report names the host, its exit status and its counts" || diag "$(cat "$W/clean.out")"
is "$(stat -c %a "$W/reports-clean/localhost.jsonl")" 600 "the collected records are for their owner alone"

ln "$D/alpha/etc/motd" "$D/beta/etc/shared"
play shared "$D"
is "$RC" 2 "a host with an error finding: the play fails (ansible-playbook exits 2)"
is "$(summary shared)" "summary 1 1" "its records are collected all the same"
grep -q 'shared-unprotected 1' "$W/shared.out" && grep -q 'vaudit exited 1 (findings of severity error or more)' "$W/shared.out"
ok $? "the failure says why: the kind found, exit 1, findings of severity error" || diag "$(cat "$W/shared.out")"
grep -q 'localhost *: ok=[0-9]* .*failed=1' "$W/shared.out"
ok $? "the host is failed in the recap"

play absent "$W/absent"
is "$RC" 2 "a ROOT that cannot be read: the play fails"
grep -q "vaudit exited 3 (a partial audit: entries could not be read).*absent.*No such file" "$W/absent.out"
ok $? "the failure carries vaudit's own error line" || diag "$(cat "$W/absent.out")"

VAUDIT=$W/not-installed/vaudit play missing "$D"
is "$RC" 2 "a host without vaudit: the play fails"
grep -q "vaudit exited 2 (an error.*No such file" "$W/missing.out"
ok $? "the failure says the program could not be run" || diag "$(cat "$W/missing.out")"

done_testing
