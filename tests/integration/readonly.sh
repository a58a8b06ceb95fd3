#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# readonly.sh - a read-only run writes nothing anywhere.  Every audit mode
# (a plain audit of a tree on the host's root filesystem and of a mounted
# fixture, --json, --host-root, --config, --list, --image; and the journal
# modes --journals, --show, --prune -n) runs under
# strace; the trace must hold no open for writing or creating (but of
# /dev/null and the terminal) and no call that creates, removes, renames or
# changes a file.  libext2fs' mount check creates and removes
# /.ismount-test-file in the host's / when it is asked about the raw device
# under "/"; vaudit must not let it.  That case is only exercised where / is a block device
# (a diagnostic says so otherwise); the other modes are checked anyway.
[ -n "${BASH_VERSION-}" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/lib.sh"

need_root
need_vaudit
need_cmd strace python3 mke2fs debugfs losetup mount umount

W=$TEST_TMP
SYSCALLS=open,openat,openat2,creat,mkdir,mkdirat,rmdir,unlink,unlinkat,link,linkat,symlink,symlinkat
SYSCALLS+=,rename,renameat,renameat2,truncate,ftruncate,chmod,fchmod,fchmodat,chown,fchown,lchown
SYSCALLS+=,fchownat,utimensat,utimes,setxattr,lsetxattr,fsetxattr,removexattr,lremovexattr
SYSCALLS+=,fremovexattr,mknod,mknodat,ioctl

# traced NAME ARGS...: vaudit ARGS under strace; RC, $W/NAME.{out,err,trace}
traced() {
	local name=$1
	shift
	strace -f -qq -s 4096 -e trace="$SYSCALLS" -o "$W/$name.trace" \
		"$VAUDIT" "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null
	RC=$?
}

# writes NAME: the calls of $W/NAME.trace that write (empty when none)
writes() {
	python3 - "$W/$1.trace" <<'EOF'
import re, sys
ALLOWED = ('/dev/null', '/dev/tty')
CHANGE = re.compile(r'^(creat|mkdir|mkdirat|rmdir|unlink|unlinkat|link|linkat|symlink|symlinkat|rename|'
                    r'renameat2?|truncate|ftruncate|chmod|fchmod|fchmodat|chown|fchown|lchown|fchownat|'
                    r'utimensat|utimes|[lf]?setxattr|[lf]?removexattr|mknod|mknodat)\(')
for line in open(sys.argv[1], errors='replace'):
    call = line.split(None, 1)[1] if line[:1].isdigit() else line
    if call.startswith(('+++', '---')):
        continue
    if call.startswith(('open(', 'openat(', 'openat2(')):
        m = re.search(r'"((?:[^"\\]|\\.)*)"', call)
        path = m.group(1) if m else ''
        if re.search(r'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC', call) and not path.startswith(ALLOWED):
            print(call.rstrip())
    elif call.startswith('ioctl('):
        if re.search(r'SETFLAGS|FSSETXATTR|0x40086602|0x401c5820', call):
            print(call.rstrip())
    elif CHANGE.match(call):
        print(call.rstrip())
EOF
}

# check_ro NAME DESC: no write in the trace of NAME
check_ro() {
	local w
	w=$(writes "$1")
	is "$w" "" "$2: nothing written, created or removed (strace)"
	grep -q 'ismount-test-file' "$W/$1.trace"
	ok $((! $?)) "$2: /.ismount-test-file never named"
}

rootsrc=$(awk '$5 == "/" { for (i = 7; $i != "-"; i++); print $(i + 2) }' /proc/self/mountinfo | tail -n1)
if [ -b "$rootsrc" ] && [ "$(stat -c %d -- "$W")" = "$(stat -c %d /)" ]; then
	diag "/ is $rootsrc, a block device, and $W is on it: the raw read goes to the device mounted at /"
else
	diag "/ is '$rootsrc' or $W is on another filesystem: the device mounted at / is not read here"
fi

# ---- a small host on the root filesystem: PREFIX/etc/vservers, PREFIX/vservers
H=$W/host
for g in g1 g2; do
	mkdir -p "$H/etc/vservers/$g" "$H/vservers/$g/etc" "$H/vservers/$g/usr/bin"
	ln -s "/vservers/$g" "$H/etc/vservers/$g/vdir"
	printf '%s\n' "$g" >"$H/vservers/$g/etc/hostname"
done
printf '101\n' >"$H/etc/vservers/g1/context"
printf '102\n' >"$H/etc/vservers/g2/context"
printf 'tool\n' >"$H/vservers/g1/usr/bin/tool"
ln "$H/vservers/g1/usr/bin/tool" "$H/vservers/g2/usr/bin/tool"
C=$W/cfg
for g in g1 g2; do
	mkdir -p "$C/$g"
	cp "$H/etc/vservers/$g/context" "$C/$g/context"
	ln -s "$H/vservers/$g" "$C/$g/vdir"
done
ok 0 "a host tree and a live configuration in $W"

traced plain "$H/vservers"
ok $((RC > 1)) "plain audit of the guests: exit 0 or 1 ($RC)" || diag "$(cat -v "$W/plain.err")"
check_ro plain "plain audit"
traced json --json --no-progress "$H/vservers/g1" "$H/vservers/g2"
ok $((RC > 1)) "--json audit: exit 0 or 1 ($RC)" || diag "$(cat -v "$W/json.err")"
check_ro json "--json audit"
traced hostroot --host-root "$H" --json --no-progress
ok $((RC > 1)) "--host-root: exit 0 or 1 ($RC)" || diag "$(cat -v "$W/hostroot.err")"
check_ro hostroot "--host-root"
traced list --list --host-root "$H"
is "$RC" 0 "--list --host-root: exit 0" || diag "$(cat -v "$W/list.err")"
check_ro list "--list --host-root"
traced config --config "$C" --no-progress
ok $((RC > 1)) "--config: exit 0 or 1 ($RC)" || diag "$(cat -v "$W/config.err")"
check_ro config "--config"

# ---- a mounted fixture (the raw bits come from its loop device), then
# ---- the same image unmounted with --image
if img=$(make_fixture ext4 --v26) && mnt=$(mount_fixture "$img"); then
	ok 0 "ext4 --v26 fixture mounted"
	traced fixture --json --no-progress "$mnt"
	ok $((RC > 1)) "audit of the mounted fixture: exit 0 or 1 ($RC)" ||
		diag "$(cat -v "$W/fixture.err")"
	check_ro fixture "audit of a mounted fixture"
	traced mounted --image "$img" --json
	is "$RC" 2 "--image on the mounted image: refused (exit 2)"
	check_ro mounted "--image on a mounted image"
	unmount_keep "$mnt"
	traced image --image "$img" --json --no-progress
	ok $((RC > 1)) "--image: exit 0 or 1 ($RC)" || diag "$(cat -v "$W/image.err")"
	check_ro image "--image"
	# the journal modes read journals and write nothing: a real one, from
	# a repair of a copy (untraced), listed, shown and pruned with -n
	mkdir -p "$W/journals"
	cp --sparse=always -- "$img" "$W/fix.img"
	"$VAUDIT" -q --fix --image "$W/fix.img" --journal "$W/journals/fix.journal" >/dev/null 2>&1
	touch -d '40 days ago' "$W/journals/fix.journal"
	for args in "--journals" "--journals --json" "--prune 30 -n" "--show $W/journals/fix.journal"; do
		# shellcheck disable=SC2086
		case $args in --show*) traced journals $args ;; *) traced journals $args "$W/journals" ;; esac
		ok $((RC > 1)) "$args: exit 0 or 1 ($RC)" || diag "$(cat -v "$W/journals.err")"
		check_ro journals "$args"
	done
else
	ok 1 "ext4 --v26 fixture mounted"
fi

done_testing
