#!/bin/bash
# vmount.sh - vmount with real mounts, in a private mount namespace (the
# script runs itself again under `unshare -m --propagation private`, so no
# mount can reach the host's table); everything lives in $TEST_TMP.
#
#  - the worked example of vmount(8) end to end: a read-only squashfs
#    (else ext4) image inside an ext4 "cloops" image, bound read-only as
#    the guest's root, a tmpfs copy of its /etc, a log directory in a
#    shared ext4 image; two guests share the shared entries (mounted once,
#    counted), unmounting one leaves them to the other, the order of the
#    unmounts is the reverse of the mounts;
#  - under strace: no mount(2) at all, the read-only bind made read-only
#    (mount_setattr) before it is attached (move_mount through a
#    directory fd); images of each read-only kind (ext4, erofs, squashfs)
#    found from their superblock; the loop devices go with the mounts;
#  - bad configurations (malformed, unknown type or reference, cycles,
#    hostile names, huge lines, NUL bytes, missing sources, a failure half
#    way): one line naming FILE:LINE (or the source), exit 2, nothing
#    mounted, no state left;
#  - a racer swapping a destination directory for a symlink to a canary
#    outside the guest while vmount mounts and unmounts many times: the
#    canary never receives a mount;
#  - concurrent runs on several guests sharing one entry; runs killed at
#    random moments, finished by `vmount -u`.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(dirname -- "$0")/../..}/tests/ns.sh"
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

need_root
need_private_ns
need_cmd mke2fs python3
VMOUNT=${VMOUNT:-$top_builddir/vmount}
[ -x "$VMOUNT" ] || skip_all "vmount not built ('$VMOUNT')"
export VMOUNT_STATE_DIR=$TEST_TMP/state
T=$TEST_TMP

# the new mount API, or skip
mkdir -p "$T/probe/g/d" "$T/probe/c"
printf 't tmpfs none DEST/d\n' >"$T/probe/c/p"
if ! out=$("$VMOUNT" "$T/probe/c/p" "$T/probe/g" 2>&1); then
	case $out in
	*"not implemented"*|*"not supported"*) skip_all "no mount API here: $out" ;;
	esac
	bail_out "vmount cannot mount a tmpfs: $out"
fi
"$VMOUNT" -u "$T/probe/c/p" "$T/probe/g" || bail_out "vmount -u of the probe failed"

# mounts below $T, as "MOUNTPOINT OPTIONS", in mount id order
mounts() {
	awk -v d="$T/" 'index($5, d) == 1 { print $1, $5, $6 }' /proc/self/mountinfo | sort -n |
		cut -d' ' -f2-
}
# mount_count PATH: how many mounts sit on PATH
mount_count() {
	awk -v p="$1" '$5 == p { n++ } END { print n + 0 }' /proc/self/mountinfo
}
state_files() {
	(cd "$VMOUNT_STATE_DIR" 2>/dev/null && ls | grep -v '\.lock$' | tr '\n' ' ')
}

# ------------------------------------------------------------------ fixtures

src=$T/src
mkdir -p "$src/etc/sub" "$src/var/log" "$src/usr/bin"
printf 'webapp\n' >"$src/etc/hostname"
printf 'a=1\n' >"$src/etc/app.conf"
printf 'deep\n' >"$src/etc/sub/deep"
chmod 0640 "$src/etc/app.conf"
chown 12:34 "$src/etc/sub/deep"
ln -s hostname "$src/etc/link"
printf '#!/bin/sh\n' >"$src/usr/bin/tool"
chmod 755 "$src/usr/bin/tool"
touch -d '2001-02-03 04:05:06' "$src/etc/hostname"

mkdir -p "$T/cl"
if command -v mksquashfs >/dev/null 2>&1; then
	imgfs=squashfs
	mksquashfs "$src" "$T/cl/webapp.img" -quiet -noappend >/dev/null 2>&1 ||
		bail_out "mksquashfs failed"
else
	imgfs=ext4
	mke2fs -q -t ext4 -d "$src" "$T/cl/webapp.img" 8M >/dev/null 2>&1 || bail_out "mke2fs -d failed"
fi
mke2fs -q -t ext4 -d "$T/cl" "$T/cloops.img" 32M >/dev/null 2>&1 || bail_out "mke2fs cloops failed"
mke2fs -q -t ext4 "$T/logs.img" 16M >/dev/null 2>&1 || bail_out "mke2fs logs failed"
diag "webapp image: $imgfs"

conf=$T/conf
mkdir -p "$conf" "$T/cloops" "$T/bundles/webapp" "$T/data/logshare" "$T/guests/a" "$T/guests/b"
cat >"$conf/webapp" <<EOF
# the guest: its image read-only, a private /etc, logs on the shared partition
main bind bundles:webapp DEST options::ro
config1 tmpfs none main/etc copy::dest size::10M
log share run:logshare main/var/log
EOF
cat >"$conf/run" <<EOF
logshare auto $T/logs.img $T/data/logshare
EOF
cat >"$conf/bundles" <<EOF
cloops auto $T/cloops.img $T/cloops options::ro
webapp image cloops/webapp.img $T/bundles/webapp
EOF

# ------------------------------------------------------------------ the example

before=$(mounts)
out=$("$VMOUNT" -n "$conf/webapp" "$T/guests/a" 2>&1)
rc=$?
is "$rc" 1 "-n: exit 1 (would mount)"
is "$(cut -d' ' -f1-3 <<<"$out")" "mount bundles:cloops auto
mount bundles:webapp image
mount webapp:main bind
mount webapp:config1 tmpfs
mount run:logshare auto
mount webapp:log share" "-n: the plan, dependencies first"
is "$(mounts)" "$before" "-n mounts nothing"
is "$(state_files)" "" "-n writes no state"
VMOUNT_STATE_DIR=$T/nostate "$VMOUNT" -n "$conf/webapp" "$T/guests/a" >/dev/null 2>&1
VMOUNT_STATE_DIR=$T/nostate "$VMOUNT" --status >/dev/null 2>&1
ok $? "--status without a state directory: exit 0"
[ ! -e "$T/nostate" ]
ok $? "-n and --status create no state directory"

out=$("$VMOUNT" -v "$conf/webapp" "$T/guests/a" 2>&1)
ok $? "mount guest a" || diag "$out"
is "$(mounts | cut -d' ' -f1)" "$T/cloops
$T/bundles/webapp
$T/guests/a
$T/guests/a/etc
$T/data/logshare
$T/guests/a/var/log" "guest a: the mounts, in dependency order"
a_root=$(awk -v p="$T/guests/a" '$5 == p { print $6 }' /proc/self/mountinfo)
case ,$a_root, in *,ro,*) ok 0 "the guest's root bind is read-only ($a_root)" ;; *) ok 1 "the guest's root bind is read-only ($a_root)" ;; esac
touch "$T/guests/a/newfile" 2>/dev/null
ok $((! $?)) "the guest's root refuses writes"
check "the image's content is the guest's" cmp "$src/usr/bin/tool" "$T/guests/a/usr/bin/tool"

# tmpfs copy-up: the same names, content, modes, owners, link targets, mtimes
listing() { (cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G %l %T@\n' | sed 's/\.[0-9]*$//' | sort); }
is "$(listing "$T/guests/a/etc")" "$(listing "$src/etc")" "tmpfs copy::dest: the copy equals the image's /etc"
check "tmpfs copy::dest: the same content" diff -r "$src/etc" "$T/guests/a/etc"
grep -q "^tmpfs\|size=10240k" <<<"$(awk -v p="$T/guests/a/etc" '$5 == p { print $9, $NF }' /proc/self/mountinfo)"
ok $? "the tmpfs is a tmpfs of size::10M"
echo changed >"$T/guests/a/etc/hostname"
ok $? "the tmpfs is writable"
check "the image is unchanged below it" grep -qx webapp "$T/bundles/webapp/etc/hostname"

# the share: GUEST/NAME in the shared mount, created on first use
echo "from a" >"$T/guests/a/var/log/messages"
check "share: the guest's log lands in logshare/a/log" grep -qx "from a" "$T/data/logshare/a/log/messages"

# the second guest shares the shared entries
out=$("$VMOUNT" -v "$conf/webapp" "$T/guests/b" 2>&1)
ok $? "mount guest b" || diag "$out"
is "$(grep -c shared <<<"$out")" 0 "guest b mounts no shared entry again"
is "$(mount_count "$T/data/logshare") $(mount_count "$T/cloops") $(mount_count "$T/bundles/webapp")" "1 1 1" \
	"each shared entry is mounted once"
echo "from b" >"$T/guests/b/var/log/messages"
check "guest b's log has its own directory" grep -qx "from b" "$T/data/logshare/b/log/messages"
check "guest a's log is not guest b's" grep -qx "from a" "$T/guests/a/var/log/messages"
status=$("$VMOUNT" --status)
is "$(grep -c '^shared .* users 2$' <<<"$status")" 3 "--status: three shared entries, two users each"
is "$(grep -c '^  mount ' <<<"$status")" 6 "--status: three mounts per guest"

out=$("$VMOUNT" "$conf/webapp" "$T/guests/a" 2>&1)
is "$?" 2 "mounting a mounted guest again is refused"
is "$(grep -c . <<<"$out")" 1 "... with one line" || diag "$out"

out=$("$VMOUNT" -u "$conf/run" "$T/guests/a" 2>&1)
is "$?" 2 "-u with another configuration is refused"
is "$out" "vmount: '$T/guests/a': mounted with another configuration, '$conf/webapp'" "... saying which"
is "$(mount_count "$T/guests/a")" 1 "... and unmounts nothing"
"$VMOUNT" "$conf/webapp" >/dev/null 2>&1
is "$?" 64 "usage: one argument is a usage error"
"$VMOUNT" --status "$conf/webapp" >/dev/null 2>&1
is "$?" 64 "usage: --status takes no argument"
"$VMOUNT" -u --status >/dev/null 2>&1
is "$?" 64 "usage: --status does not combine with -u"
"$VMOUNT" --help | grep -q 'NAME TYPE SOURCE DEST'
ok $? "--help shows the language"

out=$("$VMOUNT" -n -u "$conf/webapp" "$T/guests/a")
is "$(cut -d' ' -f1-2 <<<"$out")" "unmount webapp:log
unmount webapp:config1
unmount webapp:main
release run:logshare
release bundles:webapp
release bundles:cloops" "-n -u: the plan, last first, shared entries released"

# unmount a: its mounts go, last first; the shared ones stay for b
out=$("$VMOUNT" -v -u "$conf/webapp" "$T/guests/a" 2>&1)
ok $? "unmount guest a" || diag "$out"
is "$(cut -d' ' -f1-2 <<<"$out")" "unmounted webapp:log
unmounted webapp:config1
unmounted webapp:main" "guest a: reverse order, nothing shared unmounted"
is "$(mounts | grep -c "^$T/guests/a")" 0 "guest a has no mount left"
is "$(mount_count "$T/data/logshare") $(mount_count "$T/cloops") $(mount_count "$T/bundles/webapp")" "1 1 1" \
	"the shared entries stay while guest b uses them"
check "guest b still reads its log" grep -qx "from b" "$T/guests/b/var/log/messages"
is "$("$VMOUNT" --status | grep -c '^shared .* users 1$')" 3 "--status: one user left"

out=$("$VMOUNT" -v -u "$conf/webapp" "$T/guests/b" 2>&1)
ok $? "unmount guest b" || diag "$out"
is "$(cut -d' ' -f1-2 <<<"$out")" "unmounted webapp:log
unmounted webapp:config1
unmounted webapp:main
unmounted run:logshare
unmounted bundles:webapp
unmounted bundles:cloops" "guest b: reverse order, then the shared entries, last first"
is "$(mounts)" "$before" "nothing is mounted any more"
is "$(state_files)" "" "no state left"
for ((i = 0; i < 50; i++)); do
	[ -z "$(losetup -j "$T/cloops.img"; losetup -j "$T/logs.img")" ] && break
	sleep 0.02
done
is "$(losetup -j "$T/cloops.img"; losetup -j "$T/logs.img")" "" "the loop devices went with the last unmount"
is "$("$VMOUNT" --status)" "" "--status: empty"
out=$("$VMOUNT" -u "$conf/webapp" "$T/guests/b" 2>&1)
is "$?" 0 "-u of a guest with nothing mounted: exit 0"

# a share is named after the guest: another guest of that name is refused
mkdir -p "$T/other/b/log" "$T/guests/b/log"
printf 'log share run:logshare DEST/log\n' >"$conf/logonly"
"$VMOUNT" "$conf/logonly" "$T/guests/b"
ok $? "share: guest b mounted"
out=$("$VMOUNT" "$conf/logonly" "$T/other/b" 2>&1)
is "$?" 2 "share: another guest named b is refused"
is "$out" "vmount: '$T/other/b/log': share logonly:log: another guest of the same name uses the shared entry: File exists" "... saying why"
"$VMOUNT" -u "$conf/logonly" "$T/guests/b"
ok $? "share: guest b unmounted"
is "$(mounts)" "$before" "share: nothing mounted"

# the mount API only, a read-only bind made read-only before it is attached
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -o "$T/strace.log" -e trace=mount,umount2,open_tree,mount_setattr,move_mount,fsopen,fsmount \
		"$VMOUNT" "$conf/webapp" "$T/guests/a" >/dev/null 2>&1
	ok $? "mount under strace"
	is "$(grep -c ' mount(' "$T/strace.log")" 0 "no mount(2) call: no remount, no mount by name"
	# the root bind: open_tree, then mount_setattr(RDONLY) on that fd, then move_mount of it
	seq=$(awk '/open_tree\(/ { fd = $NF; t = 1; next }
		t == 1 && /mount_setattr\(/ && /MOUNT_ATTR_RDONLY/ { split($0, a, "[(,]"); if (a[2] == fd) t = 2; next }
		t == 2 && /move_mount\(/ { split($0, a, "[(,]"); if (a[2] == fd) { print "ok"; exit } }' "$T/strace.log")
	is "$seq" ok "the read-only bind: open_tree, mount_setattr(MOUNT_ATTR_RDONLY), then move_mount"
	is "$(grep -c 'move_mount(.*MOVE_MOUNT_T_EMPTY_PATH' "$T/strace.log")" 6 "every mount attached through a directory fd"
	"$VMOUNT" -u "$conf/webapp" "$T/guests/a"
	ok $? "unmount after strace"
else
	skip "the mount API only" "strace not found"
fi

# images of each read-only kind, the filesystem read from the superblock
mkdir -p "$T/guests/img/e4" "$T/guests/img/ero" "$T/guests/img/sq"
mke2fs -q -t ext4 -d "$src" "$T/e4.img" 8M >/dev/null 2>&1
: >"$conf/imgs"
kinds=
printf 'e4 image %s DEST/e4\n' "$T/e4.img" >>"$conf/imgs"
kinds+=" e4:ext4"
if command -v mkfs.erofs >/dev/null 2>&1 && mkfs.erofs "$T/ero.img" "$src" >/dev/null 2>&1; then
	printf 'ero image %s DEST/ero\n' "$T/ero.img" >>"$conf/imgs"
	kinds+=" ero:erofs"
else
	skip "an erofs image" "mkfs.erofs not found"
fi
if [ "$imgfs" = squashfs ]; then
	printf 'sq image %s/cl/webapp.img DEST/sq\n' "$T" >>"$conf/imgs"
	kinds+=" sq:squashfs"
fi
"$VMOUNT" "$conf/imgs" "$T/guests/img"
ok $? "images: mounted"
for k in $kinds; do
	d=${k%%:*} fs=${k#*:}
	got=$(awk -v p="$T/guests/img/$d" '$5 == p { for (i = 7; $i != "-"; i++); print $(i + 1), $6 }' /proc/self/mountinfo)
	is "${got%% *} $(case ,${got#* }, in *,ro,*) echo ro ;; *) echo rw ;; esac)" "$fs ro" "images: $d is $fs, read-only"
	check "images: $d holds the tree" diff -r -x lost+found "$src" "$T/guests/img/$d"
done
"$VMOUNT" -u "$conf/imgs" "$T/guests/img"
ok $? "images: unmounted"
is "$(mounts)" "$before" "images: nothing mounted"

# another configuration's shared entry on the same host place: refused
mkdir -p "$T/conf2" "$T/guests/d/log"
printf 'logshare auto %s %s\n' "$T/logs.img" "$T/data/logshare" >"$T/conf2/run"
printf 'log share run:logshare DEST/log\n' >"$T/conf2/web"
"$VMOUNT" "$conf/logonly" "$T/guests/b"
ok $? "one configuration's log share mounted"
out=$("$VMOUNT" "$T/conf2/web" "$T/guests/d" 2>&1)
is "$?" 2 "another configuration's entry on the same place is refused"
is "$out" "vmount: '$T/data/logshare': the place of shared entry '$conf/run:logshare' (another configuration): not mounted twice" "... naming it"
is "$(mount_count "$T/data/logshare")" 1 "... and nothing is stacked"
"$VMOUNT" -u "$conf/logonly" "$T/guests/b"
ok $? "unmounted"
is "$(mounts)" "$before" "nothing mounted"

# ------------------------------------------------------------------ bad input

bad=$T/bad
mkdir -p "$bad" "$T/guests/c"
# bad_case NAME FILE-CONTENT EXPECTED-STDERR-PATTERN [OTHER-FILE CONTENT]...
bad_case() {
	local name=$1 content=$2 pat=$3 err rc
	shift 3
	rm -rf "$bad"/*
	printf '%b' "$content" >"$bad/main"
	while [ $# -ge 2 ]; do
		printf '%b' "$2" >"$bad/$1"
		shift 2
	done
	err=$("$VMOUNT" "$bad/main" "$T/guests/c" 2>&1 >/dev/null)
	rc=$?
	is "$rc" 2 "$name: exit 2"
	if [ "$(grep -c . <<<"$err")" = 1 ] && [[ $err =~ $pat ]]; then
		ok 0 "$name: one line: ${err//$T/T}"
	else
		ok 1 "$name: one line matching $pat"
		diag "$err"
	fi
	is "$(mounts)" "$before" "$name: nothing mounted"
	is "$(state_files)" "" "$name: no state"
}
B="^vmount: '$bad/main:"
bad_case "too few fields" "a bind /x\n" "${B}1': expected NAME TYPE SOURCE DEST"
bad_case "unknown type" $'# c\n\nw cloop /x DEST\n' "${B}3': unknown type 'cloop'"
bad_case "unknown entry" $'a bind nosuch DEST\n' "${B}1': unknown entry 'main:nosuch'"
bad_case "unknown file" $'a bind other:x DEST\n' "${B}1': cannot read configuration file 'other': No such file"
bad_case "unknown entry of another file" $'a bind other:x DEST\n' \
	"^vmount: '$bad/other:1': unknown entry 'other:zz'" other $'x bind zz DEST\n'
bad_case "cycle" $'a bind b DEST\nb bind c DEST\nc bind a/x DEST\n' \
	"${B}[0-9]': dependency cycle: main:a -> main:b -> main:c -> main:a"
bad_case "cycle across files" $'a bind o:b DEST\n' \
	"dependency cycle: main:a -> o:b -> main:a" o $'b bind main:a DEST\n'
bad_case "self reference" $'a tmpfs none a/x\n' "${B}1': dependency cycle: main:a -> main:a"
bad_case "'..' in a path" $'a bind /srv DEST/../../etc\n' "${B}1': destination 'DEST/../../etc': '..' is not allowed"
bad_case "'..' as a file" $'a bind ..:x DEST\n' "${B}1': source '..:x': not FILE:ENTRY"
bad_case "a path as a file" $'a bind /etc/passwd:x/y DEST\n' "^vmount: '/etc/passwd:x/y': the source of main:a"
bad_case "hostile name" $'a\xff bind /srv DEST\n' "${B}1': '.*' is not an entry name"
bad_case "control character" $'a bind /srv DEST\x1b[2J\n' "${B}1': a control character \\(0x1b\\)"
bad_case "NUL byte" 'a bind /srv\0 DEST\n' "${B}1': a NUL byte"
bad_case "huge line" "a bind /$(head -c 5000 /dev/zero | tr '\0' x) DEST"$'\n' "${B}1': a line longer than 4096 bytes"
bad_case "duplicate entry" $'a bind /srv DEST\na bind /srv DEST\n' "${B}2': entry 'a' is already defined at line 1"
bad_case "unknown option" $'a bind /srv DEST frob::1\n' "${B}1': unknown option 'frob'"
bad_case "not an option" $'a bind /srv DEST ro\n' "${B}1': 'ro' is not KEY::VALUE"
bad_case "tmpfs with a source" $'a tmpfs /srv DEST\n' "${B}1': a tmpfs has no source"
bad_case "share of a per-guest entry" $'a tmpfs none DEST\nb share a DEST/x\n' "${B}2': the source of a share is a shared entry"
bad_case "shared entry on a guest entry" $'a tmpfs none DEST\nb bind a /srv\n' "${B}2': a shared entry cannot depend on 'main:a'"
bad_case "missing source" $'a bind /nonexistent/src DEST\n' "^vmount: '/nonexistent/src': the source of main:a: No such file"
bad_case "missing image" $'a image /nonexistent.img DEST\n' "^vmount: '/nonexistent.img': the source of main:a: No such file"
bad_case "missing destination" $'a tmpfs none DEST/nosuchdir\n' "^vmount: '$T/guests/c/nosuchdir': the destination of main:a: No such file"
printf 'garbage' >"$T/garbage.img"
# the first entries mount, the third fails: everything is given back
bad_case "failure half way" "s auto $T/logs.img $T/data/logshare
t tmpfs none DEST
u image $T/garbage.img DEST
" "^vmount: '$T/guests/c': image main:u: no filesystem found on the source"

# ------------------------------------------------------------------ the race

# A racer swaps directories of the guest for symlinks to a canary outside
# it, as fast as it can, while vmount mounts and unmounts.  The canary
# must never receive a mount.
g=$T/guests/race
canary=$T/canary
mkdir -p "$g/d" "$g/e/sub" "$canary/sub" "$T/bindsrc"
echo secret >"$canary/sub/host-secret"
cat >"$conf/race" <<EOF
t1 tmpfs none DEST/d
t2 tmpfs none DEST/e/sub copy::dest
b1 bind $T/bindsrc DEST/d options::ro
EOF
python3 - "$g" "$canary" <<'EOF' &
import os, random, sys, time
g, canary = sys.argv[1], sys.argv[2]
rng = random.Random(19)
for n in ("d", "e"):
    try:
        os.symlink(canary, os.path.join(g, n + ".link"))
    except FileExistsError:
        pass
while True:
    for n in ("d", "e"):
        p = os.path.join(g, n)
        try:
            os.rename(p, p + ".real")
            os.rename(p + ".link", p)
            os.rename(p, p + ".link")
            os.rename(p + ".real", p)
        except OSError:
            pass
    # now flat out, now with pauses: more kinds of interleaving
    if rng.random() < 0.5:
        time.sleep(rng.random() * 0.0005)
EOF
racer=$!
defer kill "$racer"
runs=${VMOUNT_RACE_RUNS:-150}
mounted=0 refused=0 leak=0 stuck=0
for ((i = 0; i < runs; i++)); do
	if "$VMOUNT" "$conf/race" "$g" 2>/dev/null; then
		mounted=$((mounted + 1))
		# copy::dest never copied the canary's files into the guest
		find "$g" -name host-secret 2>/dev/null | grep -q . && leak=$((leak + 1))
	else
		refused=$((refused + 1))
	fi
	awk -v c="$canary" 'index($5, c) == 1' /proc/self/mountinfo | grep -q . && leak=$((leak + 1))
	for ((j = 0; j < 200; j++)); do
		"$VMOUNT" -u "$conf/race" "$g" 2>/dev/null && break
	done
	[ "$j" -lt 200 ] || stuck=$((stuck + 1))
	awk -v c="$canary" 'index($5, c) == 1' /proc/self/mountinfo | grep -q . && leak=$((leak + 1))
done
kill "$racer" 2>/dev/null
wait "$racer" 2>/dev/null
diag "race: $runs runs, $mounted mounted, $refused refused (a symlink met on the way)"
is "$leak" 0 "race: the canary never received a mount, nor its files copied into the guest"
is "$(awk -v d="$T/" 'index($5, d) == 1 && index($5, "'"$g"'") != 1' /proc/self/mountinfo | wc -l)" 0 \
	"race: no mount outside the guest"
is "$stuck" 0 "race: every run could be unmounted"
[ "$mounted" -gt 0 ]
ok $? "race: some runs mounted ($mounted)"
is "$(mounts)" "$before" "race: nothing mounted at the end"
is "$(state_files)" "" "race: no state left"

# ------------------------------------------------------------------ concurrency

# four guests at once, sharing the log partition: one mount, four users
cat >"$conf/many" <<EOF
log share run:logshare DEST/log
tmp tmpfs none DEST/tmp size::1M
EOF
for n in 1 2 3 4; do
	mkdir -p "$T/guests/m$n/log" "$T/guests/m$n/tmp"
done
pids=()
for n in 1 2 3 4; do
	"$VMOUNT" "$conf/many" "$T/guests/m$n" & pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "concurrent: four guests mounted at once"
is "$(mount_count "$T/data/logshare")" 1 "concurrent: the shared entry is mounted once"
is "$("$VMOUNT" --status | grep -c '^shared .*run:logshare.* users 4$')" 1 "concurrent: with four users"
pids=()
for n in 1 2 3 4; do
	"$VMOUNT" -u "$conf/many" "$T/guests/m$n" & pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "concurrent: four guests unmounted at once"
is "$(mounts)" "$before" "concurrent: nothing mounted at the end"
is "$(state_files)" "" "concurrent: no state left"

# ------------------------------------------------------------------ crashes

# a run killed at each of its crash points in turn (VMOUNT_TEST_DIE_AT:
# a state file written but not renamed, a mount attached but not
# recorded), then a few at random moments: vmount -u leaves nothing
# die_at N ARGS...: vmount ARGS killed at crash point N (run as a
# background job: no "Killed" line from the shell)
die_at() {
	local n=$1
	shift
	VMOUNT_TEST_DIE_AT=$n "$VMOUNT" "$@" 2>/dev/null &
	wait $! 2>/dev/null
}
# crash_sweep WHAT: guest a's run killed at crash point 1, 2, ... until it
# gets past its last one, each time followed by `vmount -u`, then WHAT
# (a function) must hold; sets n (the points + 1) and crash_ok
crash_sweep() {
	local rc urc
	crash_ok=1
	for ((n = 1; n < 100; n++)); do
		die_at "$n" "$conf/webapp" "$T/guests/a"
		rc=$?
		"$VMOUNT" -u "$conf/webapp" "$T/guests/a" 2>"$T/crash.err"
		urc=$?
		if [ "$urc" -ne 0 ] || ! "$1"; then
			crash_ok=0
			diag "killed at crash point $n: -u exit $urc: $(cat "$T/crash.err")"
			diag "left: $(mounts) state: $(state_files)"
			diag "$("$VMOUNT" --status)"
			break
		fi
		[ "$rc" -eq 0 ] && break        # the run got past its last crash point
	done
}
# nothing left at all
left_nothing() { [ "$(mounts)" = "$before" ] && [ -z "$(state_files)" ]; }
crash_sweep left_nothing
[ "$crash_ok" = 1 ] && [ "$n" -gt 10 ]
ok $? "crash points: killed at each of $((n - 1)), vmount -u left nothing"
# with the other guest mounted: its shared entries stay, counted right
"$VMOUNT" "$conf/webapp" "$T/guests/b" || bail_out "cannot mount guest b"
# guest a's mounts gone, the three shared entries still counting b only
b_alone() {
	[ "$(mounts | grep -c "^$T/guests/a")" = 0 ] &&
		[ "$("$VMOUNT" --status | grep -c '^shared .* users 1$')" = 3 ]
}
crash_sweep b_alone
[ "$crash_ok" = 1 ]
ok $? "crash points beside another guest: the shared entries stay, counted right ($((n - 1)) points)"
"$VMOUNT" -u "$conf/webapp" "$T/guests/b"
ok $? "unmount guest b"
# killed, then another guest mounts before anyone runs -u: a shared mount
# the killed run left is not stacked on, and the counts come out right
crash_ok=1
for ((n = 1; n < 100; n++)); do
	die_at "$n" "$conf/webapp" "$T/guests/a"
	rc=$?
	"$VMOUNT" "$conf/webapp" "$T/guests/b" 2>"$T/crash.err"
	brc=$?
	counts="$(mount_count "$T/data/logshare") $(mount_count "$T/cloops") $(mount_count "$T/bundles/webapp")"
	"$VMOUNT" -u "$conf/webapp" "$T/guests/a" 2>>"$T/crash.err"
	urc=$?
	"$VMOUNT" -u "$conf/webapp" "$T/guests/b" 2>>"$T/crash.err"
	urc=$((urc + $?))
	if [ "$brc" -ne 0 ] || [ "$counts" != "1 1 1" ] || [ "$urc" -ne 0 ] || [ "$(mounts)" != "$before" ] ||
		[ -n "$(state_files)" ]; then
		crash_ok=0
		diag "killed at crash point $n, then guest b: exit $brc, mounts $counts, -u $urc: $(cat "$T/crash.err")"
		diag "left: $(mounts) state: $(state_files)"
		break
	fi
	[ "$rc" -eq 0 ] && break
done
[ "$crash_ok" = 1 ]
ok $? "crash points, then another guest first: no shared mount stacked ($((n - 1)) points)"
killed=0 crash_ok=1
for ((i = 0; i < 10; i++)); do
	"$VMOUNT" "$conf/webapp" "$T/guests/a" 2>/dev/null &
	p=$!
	sleep "$(printf '0.%03d' $((RANDOM % 60)))"
	kill -9 "$p" 2>/dev/null && killed=$((killed + 1))
	wait "$p" 2>/dev/null
	"$VMOUNT" -u "$conf/webapp" "$T/guests/a" 2>"$T/crash.err"
	rc=$?
	if [ "$rc" -ne 0 ] || [ "$(mounts)" != "$before" ] || [ -n "$(state_files)" ]; then
		crash_ok=0
		diag "rc $rc: $(cat "$T/crash.err") left: $(mounts) state: $(state_files)"
		break
	fi
done
[ "$crash_ok" = 1 ]
ok $? "runs killed at random moments ($killed of 10 killed): vmount -u left nothing"
is "$(mounts)" "$before" "nothing mounted at the end"

done_testing
