#!/bin/bash
# fuzz-image.sh - bounded run of fuzz/fuzz-image for make check: build small
# ext2/3/4 seed images without root (mke2fs -d, flags set with debugfs -w),
# then audit FUZZ_ITERATIONS (default 3000) mutated copies of them.
# Long runs: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz-image-libfuzzer
#   FUZZ_SEED_DIR=corpus fuzz/fuzz-image.sh
#   fuzz/fuzz-image-libfuzzer -max_len=2200000 -len_control=0 corpus
set -eu
builddir=${top_builddir:-.}
work=$(mktemp -d "${TMPDIR:-/tmp}/vaudit-fuzz-image.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
tree=$work/tree
mkdir -p "$tree/vservers/g1/usr/bin" "$tree/vservers/g2/usr/bin" "$tree/vservers/g1/srv/b"
for i in 1 2 3 4 5 6 7 8; do echo "file $i" > "$tree/vservers/g1/usr/bin/f$i"; done
for i in 1 2 3 4; do ln "$tree/vservers/g1/usr/bin/f$i" "$tree/vservers/g2/usr/bin/f$i"; done
seeds=()
for t in ext2 ext3 ext4; do
	img=$work/seed-$t.img
	mke2fs -q -F -t "$t" -b 1024 -N 64 -d "$tree" "$img" 2M >/dev/null 2>&1
	# OR the bits into the existing flags (ext4 needs its extents flag)
	setfl() {
		local cur
		cur=$(debugfs -R "stat $1" "$img" 2>/dev/null | sed -n 's/.*Flags: \(0x[0-9a-f]*\).*/\1/p')
		printf 'set_inode_field %s flags 0x%x\n' "$1" $(( ${cur:-0} | $2 ))
	}
	{
		setfl /vservers/g1/usr/bin/f1 0x8010
		setfl /vservers/g1/usr/bin/f2 0x08000010
		setfl /vservers/g1/usr/bin/f3 0x10
		setfl /vservers/g1/usr/bin/f5 0x8000
		setfl /vservers/g1/usr/bin/f6 0x08000000
		setfl /vservers/g1/usr/bin/f7 0x20000000
		setfl /vservers 0x04000000
		setfl /vservers/g2 0x04000000
		setfl /vservers/g1/srv/b 0x8000
		echo "set_inode_field /vservers/g1/srv/b mode 040000"
	} > "$work/cmds"
	debugfs -w -f "$work/cmds" "$img" >/dev/null 2>&1
	seeds+=("$img")
done
# FUZZ_SEED_DIR=DIR: only write the seeds there (a corpus for libFuzzer)
if [ -n "${FUZZ_SEED_DIR:-}" ]; then
	mkdir -p "$FUZZ_SEED_DIR" && cp -- "${seeds[@]}" "$FUZZ_SEED_DIR"/
	exit 0
fi
# the seeds must audit cleanly, or the run would only exercise error paths
for img in "${seeds[@]}"; do
	rc=0
	"$builddir/vaudit" --image "$img" --prefix /vservers >/dev/null 2>"$work/err" || rc=$?
	if [ "$rc" -ne 1 ]; then
		echo "1..1"
		echo "not ok 1 - seed $img does not audit (exit $rc): $(head -1 "$work/err")"
		exit 1
	fi
done
FUZZ_MUTATE=1 FUZZ_ITERATIONS=${FUZZ_ITERATIONS:-3000} exec "$builddir/fuzz/fuzz-image" "${seeds[@]}"
