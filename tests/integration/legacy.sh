#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# legacy.sh - 2.4-era guests configured as /etc/vservers/NAME.conf (the
# util-vserver "legacy" style), alone and mixed with directory guests, read
# by vaudit --host-root PREFIX on a loop-mounted ext4 image.
#
# The NAME.conf files are written in the 0.30 style, as the old vserver
# script's template writes them (if [ "$PROFILE" = "" ] ... fi, case
# $PROFILE in ... esac, quoted assignments, comments).  Ground truth:
#   - the variables each valid file sets are what bash itself leaves after
#     sourcing it with the guest's PROFILE (legacytest.py), never vaudit's
#     output; web runs under the profile "backup" of its NAME.ctx;
#   - which guest util-vserver takes when NAME/ and NAME.conf both exist,
#     the findings and their lines are tables written by hand below
#     (S_CONTEXT lines are looked up in the file by legacytest.py);
#   - the files are not changed (sha256 before and after), nothing of
#     NAME.conf is run (a canary command in one of them).
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd python3 mke2fs losetup mount umount sha256sum timeout bash

LT=$top_srcdir/tests/integration/legacytest.py
W=$TEST_TMP

run() {
	timeout 120 "$VAUDIT" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}

img=$W/host.img
truncate -s 64M "$img" && mke2fs -q -t ext4 -F "$img" >/dev/null 2>&1
ok $? "an ext4 image for the host" || bail_out "mke2fs failed"
M=$(mount_fixture "$img")
ok $? "loop-mounted on $M" || bail_out "cannot mount the image"

E=$M/etc/vservers
mkdir -p "$E" "$M/var/run/vservers" "$M/vservers"
for g in web mail bad both flagged dirg; do
	mkdir -p "$M/vservers/$g/etc"
done

# web: the old vserver script's template, filled in (tabs, comments, the
# PROFILE default and case); it runs under the profile "backup"
cat >"$E/web.conf" <<'EOF'
if [ "$PROFILE" = "" ] ; then
	PROFILE=prod
fi
# Select the IP number assigned to the virtual server
# This IP must be one IP of the server, either an interface
# or an IP alias
# A vserver may have more than one IP. Separate them with spaces.
# do not forget double quotes.
# Some examples:
# IPROOT="1.2.3.4 2.3.4.5"
# IPROOT="eth0:1.2.3.4 eth1:2.3.4.5"
# If the device is not specified, IPROOTDEV is used
case $PROFILE in
prod)
	IPROOT="192.168.10.5 eth1:10.1.0.5"
	# The netmask and broadcast are computed by default from IPROOTDEV
	#IPROOTMASK=
	#IPROOTBCAST=
	IPROOTDEV=eth0
	S_HOSTNAME=web.example.org
	;;
backup)
	IPROOT=192.168.20.5
	IPROOTDEV=eth2
	S_HOSTNAME=web-backup.example.org
	;;
esac
# Uncomment the onboot line if you want to enable this
# virtual server at boot time
ONBOOT=yes
S_DOMAINNAME=
S_NICE=5
S_FLAGS="lock nproc"
ULIMIT="-HS -u 1000"
S_CAPS="CAP_NET_RAW"
# Select an unused context (this is optional)
S_CONTEXT=42
EOF
printf 'S_CONTEXT=42\nS_PROFILE=backup\n' >"$M/var/run/vservers/web.ctx"

# mail: the shell's quoting, export, several assignments on a line; its
# S_CONTEXT is web's (duplicate) and so is dirg's (a directory guest)
cat >"$E/mail.conf" <<'EOF'
# mail server
export S_CONTEXT='42'
S_HOSTNAME="mail.example.org" S_DOMAINNAME=example\ org
S_FLAGS='lock
sched'
S_CAPS="CAP_NET_RAW \"quoted\" \$notexpanded \\ back"
IPROOT=10.0.0.7\
 # a continued line above
ULIMIT="-HS -u 200" ; PRIORITY=20
#ONBOOT=yes
EOF

# bad: what is not an assignment, each on a known line (1-based)
cat >"$E/bad.conf" <<EOF
S_CONTEXT=44
touch $W/canary-ran
IPROOT=\$(hostname -i)
S_NICE=\`echo 3\`
S_FLAGS="lock" >/dev/null
ONBOOT=yes
EOF
# line 2: a command; 3: an expansion; 4: command substitution (the rest of
# the file is not read)

# nodir: no /vservers/nodir
printf 'S_CONTEXT=45\nONBOOT=no\n' >"$E/nodir.conf"
# both: a directory guest with a vdir: it wins, both.conf is ignored
mkdir -p "$E/both" && ln -s /vservers/both "$E/both/vdir" && echo 46 >"$E/both/context"
printf 'S_CONTEXT=99\n' >"$E/both.conf"
# flagged: a directory with a "legacy" flag file: flagged.conf is the guest
mkdir -p "$E/flagged" && : >"$E/flagged/legacy" && ln -s /vservers/both "$E/flagged/vdir"
printf "S_CONTEXT=47\nS_HOSTNAME='flagged'\n" >"$E/flagged.conf"
# dirg: a directory guest with web's context
mkdir -p "$E/dirg/apps/vunify" && ln -s /vservers/dirg "$E/dirg/vdir" && echo 42 >"$E/dirg/context"
# not guests: a backup, a hidden file, a NAME.conf that is a FIFO, a
# link out of the host root
printf 'S_CONTEXT=50\n' >"$E/old.conf~"
printf 'S_CONTEXT=51\n' >"$E/.hidden.conf"
mkfifo "$E/fifo.conf"
mkdir -p "$W/outside" && printf 'S_CONTEXT=52\n' >"$W/outside/esc.conf"
ln -s ../../../../../../../../outside/esc.conf "$E/esc.conf"

sum0=$(cd "$M" && find etc var -type f -print0 | sort -z | xargs -0 sha256sum)

cat >"$W/spec.json" <<EOF
{ "vars": ["S_CONTEXT", "IPROOT", "IPROOTDEV", "ONBOOT", "S_HOSTNAME", "S_DOMAINNAME",
           "S_FLAGS", "S_CAPS", "ULIMIT", "S_NICE", "PRIORITY"],
  "guests": [
    {"name": "bad", "style": "legacy", "cfgdir": "/etc/vservers/bad.conf", "context": 44,
     "vdir": "/vservers/bad", "vdir_from": "legacy"},
    {"name": "both", "style": "directory", "cfgdir": "/etc/vservers/both", "context": 46,
     "vdir": "/vservers/both", "vdir_from": "vdir", "conf_ignored": "/etc/vservers/both.conf"},
    {"name": "dirg", "style": "directory", "cfgdir": "/etc/vservers/dirg", "context": 42,
     "vdir": "/vservers/dirg", "vdir_from": "vdir", "unify": true},
    {"name": "flagged", "style": "legacy", "cfgdir": "/etc/vservers/flagged.conf", "context": 47,
     "vdir": "/vservers/flagged", "vdir_from": "legacy", "truth_profile": ""},
    {"name": "mail", "style": "legacy", "cfgdir": "/etc/vservers/mail.conf", "context": 42,
     "vdir": "/vservers/mail", "vdir_from": "legacy", "truth_profile": ""},
    {"name": "nodir", "style": "legacy", "cfgdir": "/etc/vservers/nodir.conf", "context": 45,
     "vdir": null, "vdir_from": "legacy"},
    {"name": "web", "style": "legacy", "cfgdir": "/etc/vservers/web.conf", "context": 42,
     "vdir": "/vservers/web", "vdir_from": "legacy", "onboot": true, "truth_profile": "backup"}
  ],
  "findings": [
    ["config-invalid", "/etc/vservers/bad.conf", 2],
    ["config-invalid", "/etc/vservers/bad.conf", 3],
    ["config-invalid", "/etc/vservers/bad.conf", 4],
    ["config-vdir-missing", "/etc/vservers/nodir.conf", 0],
    ["config-duplicate-context", "/etc/vservers/web.conf", "S_CONTEXT"],
    ["config-duplicate-context", "/etc/vservers/mail.conf", "S_CONTEXT"],
    ["config-duplicate-context", "/etc/vservers/dirg/context", 0]
  ]
}
EOF

run --list --json --host-root "$M"
is "$RC" 0 "--list --json --host-root: exit 0" || diag "$(cat "$W/err")"
cp "$W/out" "$W/list.json"
run --json --host-root "$M" --only config-invalid,config-duplicate-context,config-vdir-missing,config-context-range
is "$RC" 1 "the audit: exit 1 (findings)" || diag "$(cat "$W/err")"
cp "$W/out" "$W/findings.json"
py_checks python3 "$LT" check --mnt "$M" --list "$W/list.json" --findings "$W/findings.json" \
	--spec "$W/spec.json"

# duplicate findings: each names the other guests (one per pair)
n=$(grep -c '"kind":"config-duplicate-context"' "$W/findings.json")
is "$n" 6 "three guests share context 42: six duplicate findings (each against each other)"
grep '"path":"[^"]*/web.conf"' "$W/findings.json" | grep -q 'also the context of guest mail (legacy NAME.conf)'
ok $? "web.conf's duplicate names mail as a legacy guest"

# the text outputs
run --host-root "$M" --only config-invalid
grep -q "^config-invalid .*$M/etc/vservers/bad.conf:2: 'touch' is not an assignment" "$W/out"
ok $? "text: config-invalid names the file and line of the command" || diag "$(cat "$W/out")"
grep -q "bad.conf:4: command substitution" "$W/out"
ok $? "text: command substitution, file and line"
[ "$(grep -c '' "$W/err" | tr -d ' ')" -le 2 ] && ! grep -qi 'assert\|sanitizer\|segmentation' "$W/err"
ok $? "no crash, no more than the kernel notes on stderr"
run --list --host-root "$M"
is "$RC" 0 "--list text: exit 0"
grep -Eq '^web +42 +unknown +onboot +[^ ]+/vservers/web +off \(legacy NAME\.conf\)$' "$W/out"
ok $? "--list text: web is marked legacy, onboot" || diag "$(cat "$W/out")"
grep -Eq '^dirg +42 .*refs=-$' "$W/out"
ok $? "--list text: dirg is a directory guest"
for n in old.conf '~' .hidden esc fifo; do
	grep -q "^$n " "$W/out" && { ok 1 "not a guest: $n"; continue; }
	ok 0 "not a guest: $n"
done

[ ! -e "$W/canary-ran" ]
ok $? "nothing of NAME.conf was run"
sum1=$(cd "$M" && find etc var -type f -print0 | sort -z | xargs -0 sha256sum)
is "$sum1" "$sum0" "the configuration is unchanged"

# ---------------------------------------------------------------- --convert-legacy
run --convert-legacy --dry-run --host-root "$M" web mail
is "$RC" 0 "--convert-legacy --dry-run web mail: exit 0" || diag "$(cat "$W/err")"
grep -q "^would create $M/etc/vservers/web from $M/etc/vservers/web.conf" "$W/out"
ok $? "--dry-run: says what it would create"
grep -q "^  not converted: $M/etc/vservers/mail.conf:[0-9]*: PRIORITY: " "$W/out"
ok $? "--dry-run: PRIORITY is reported as not converted, with its line"
[ ! -e "$E/web" ] && [ ! -e "$E/mail" ] && [ -z "$(find "$E" -name '.vaudit-convert*')" ]
ok $? "--dry-run: nothing created"

J1=$W/conv1.journal
run --convert-legacy --journal "$J1" --host-root "$M" web mail
is "$RC" 0 "--convert-legacy web mail: exit 0" || diag "$(cat "$W/err")"
py_checks python3 "$LT" convtree --name web --conf "$E/web.conf" --dir "$E/web" --profile backup
py_checks python3 "$LT" convtree --name mail --conf "$E/mail.conf" --dir "$E/mail"
grep -q "^created $M/etc/vservers/mail from $M/etc/vservers/mail.conf\$" "$W/out"
ok $? "it says what it created"
grep -qx "vaudit: journal: $J1 (undo: vaudit --undo $J1 --host-root $M)" "$W/err"
ok $? "it names the journal and how to undo it" || diag "$(cat "$W/err")"
py_checks python3 "$LT" journal records --journal "$J1" --dirs "$E/web" "$E/mail"
[ -z "$(find "$E" -maxdepth 1 -name '.vaudit-convert*')" ]
ok $? "no temporary directory is left"
sum2=$(cd "$M" && find etc var -type f ! -path 'etc/vservers/web/*' ! -path 'etc/vservers/mail/*' -print0 |
	sort -z | xargs -0 sha256sum)
is "$sum2" "$sum0" "the NAME.conf files (and every other file) are unchanged"
snap() { (cd "$E" && find . -printf '%p %y %i %s %T@\n' | sort); }
before=$(snap)
run --convert-legacy --journal "$W/web.journal" --host-root "$M" web
is "$RC:$(snap)" "2:$before" "again: refused, exit 2, nothing changed"
grep -q "'web': not a legacy guest" "$W/err"
ok $? "again: the message says why" || diag "$(cat "$W/err")"
run --convert-legacy --journal "$W/flagged.journal" --host-root "$M" flagged
is "$RC" 2 "flagged (NAME/ exists with a legacy flag): refused"
grep -q "flagged': it exists already" "$W/err"
ok $? "flagged: an existing directory is never replaced" || diag "$(cat "$W/err")"
run --convert-legacy --journal "$W/bad.journal" --host-root "$M" bad
is "$RC:$([ -e "$E/bad" ] && echo made)" "2:" "bad (lines vaudit cannot read): refused, nothing made"
run --list --json --host-root "$M"
grep '"name":"web"' "$W/out" | grep -q '"mark":"default","style":"directory","conf_ignored":"[^"]*/web.conf"'
ok $? "after the conversion web is a directory guest, mark default, web.conf ignored" ||
	diag "$(grep '"name":"web"' "$W/out")"

# ---------------------------------------------------------------- its undo
# a forged copy: the same records moved to the guests' parent, and the
# real journal without --host-root: refused, nothing changed
cp "$J1" "$W/forged.journal"
python3 "$LT" journal forge --journal "$W/forged.journal" --old "$E" --new "$M/vservers"
before=$(snap)
run --undo "$W/forged.journal" --host-root "$M"
is "$RC:$(snap)" "2:$before" "a convert journal naming another directory than the configuration's: refused, nothing changed"
grep -q "forged.journal': refused, nothing changed: its header names '$M/vservers'" "$W/err"
ok $? "the refusal names the journal and the directory" || diag "$(cat "$W/err")"
run --undo "$J1" "$M/vservers/web"
is "$RC:$(snap)" "2:$before" "a convert journal with a ROOT: refused, nothing changed"

run --undo "$J1" --dry-run --host-root "$M"
is "$RC:$(snap)" "1:$before" "--undo --dry-run: exit 1 (something would change), nothing changed" || diag "$(cat "$W/err")"
is "$(grep -c '^would    remove ' "$W/out")" 2 "--undo --dry-run: would remove web and mail"

# a file added to web after the conversion: web is left alone, mail goes
echo "# added by hand" >"$E/web/notes"
run --undo "$J1" --host-root "$M"
is "$RC" 1 "--undo with web changed: exit 1 (something left alone)" || diag "$(cat "$W/err")"
[ ! -e "$E/mail" ] && [ -f "$E/web/notes" ] && [ -f "$E/web/context" ]
ok $? "mail is removed; web, with the file added by hand, is left as it was"
grep -q "^skipped  remove $M/etc/vservers/web: it holds an entry the conversion did not make: $M/etc/vservers/web/notes: left alone\$" "$W/err"
ok $? "the message names what was added" || diag "$(cat "$W/err")"
# a file of web changed in place (same inode, new ctime)
rm "$E/web/notes"
echo 4242 >>"$E/web/context"
run --undo "$J1" --host-root "$M"
is "$RC:$([ -d "$E/web" ] && echo kept)" "1:kept" "--undo with web/context edited: web left alone"
grep -q "web: it changed since the conversion: $M/etc/vservers/web/context: left alone" "$W/err"
ok $? "the message names the edited file" || diag "$(cat "$W/err")"
# web removed by hand: nothing left to undo
rm -r -- "$E/web"
run --undo "$J1" --host-root "$M"
is "$RC" 0 "--undo after web was removed by hand: exit 0" || diag "$(cat "$W/err")"
run --list --json --host-root "$M"
cmp -s "$W/out" "$W/list.json"
ok $? "after the undo the listing is the one before the conversion"
[ -z "$(find "$E" -maxdepth 1 -name '.vaudit-convert*')" ]
ok $? "no temporary directory is left"

# an undo cut short: web already renamed to its temporary name and partly
# removed (what the undo does in that order); the next undo finishes it
J2=$W/conv2.journal
run --convert-legacy --journal "$J2" --host-root "$M" web
is "$RC" 0 "web converted again" || diag "$(cat "$W/err")"
t=$(python3 "$LT" journal tmpname --journal "$J2" --path "$E/web")
mv -T -- "$E/web" "$E/$t" && rm -r -- "$E/$t/interfaces"
run --undo "$J2" --host-root "$M"
is "$RC" 0 "--undo of an undo cut short: exit 0" || diag "$(cat "$W/err")"
[ ! -e "$E/web" ] && [ ! -e "$E/$t" ]
ok $? "it removed what was left under the temporary name"

# a conversion killed after its records were on disk and before the
# rename: --resume puts it in place, complete
J3=$W/conv3.journal
run --convert-legacy --journal "$J3" --host-root "$M" web
t=$(python3 "$LT" journal tmpname --journal "$J3" --path "$E/web")
mv -T -- "$E/web" "$E/$t" && python3 "$LT" journal drop-marks --journal "$J3"
run --resume "$J3" --dry-run --host-root "$M"
is "$RC:$([ -e "$E/web" ] && echo there)" "1:" "--resume --dry-run: exit 1 (something would change), nothing moved" || diag "$(cat "$W/err")"
run --resume "$J3" --host-root "$M"
is "$RC" 0 "--resume of a conversion killed before its rename: exit 0" || diag "$(cat "$W/err")"
py_checks python3 "$LT" convtree --name web --conf "$E/web.conf" --dir "$E/web" --profile backup
run --resume "$J3" --host-root "$M"
is "$RC" 0 "--resume again: nothing to do, exit 0"
run --undo "$J3" --host-root "$M"
is "$RC:$([ -e "$E/web" ] && echo there)" "0:" "and its undo removes it" || diag "$(cat "$W/err")"
run --list --json --host-root "$M"
cmp -s "$W/out" "$W/list.json"
ok $? "the listing is the one before the conversions"
run --convert-legacy --list --host-root "$M"
is "$RC" 64 "--convert-legacy with --list: a usage error"

# a NAME.conf larger than 256 KiB, one with a NUL byte: one line each
head -c 300000 /dev/zero | tr '\0' '#' >"$E/huge.conf"
printf 'S_CONTEXT=60\nA=1\0B=2\n' >"$E/nul.conf"
run --json --host-root "$M" --only config-invalid
grep -q '"path":"[^"]*/huge.conf".*larger than 256 KiB' "$W/out"
ok $? "a huge NAME.conf: config-invalid, cannot read it"
grep -q '"path":"[^"]*/nul.conf".*"line":2,.*NUL byte' "$W/out"
ok $? "a NUL byte: config-invalid at its line" || diag "$(grep nul.conf "$W/out")"

done_testing
