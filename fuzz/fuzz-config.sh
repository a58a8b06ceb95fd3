#!/bin/bash
# fuzz-config.sh - bounded run of fuzz/fuzz-config for make check: the
# target builds a util-vserver host tree from each input in a temporary
# directory and reads it as --host-root (see fuzz/fuzz-config.c).
#   1. FUZZ_ITERATIONS/3 (default 600) generated inputs;
#   2. the rest (default 1200): mutated copies of the built-in
#      seeds (the target writes them with FUZZ_CONFIG_WRITE_SEEDS=DIR).
# FUZZ_SEED picks another random sequence; FUZZ_CONFIG_STRICT=1 also checks
# the properties of open bugs (see fuzz/fuzz-config.c).  A failed property
# prints the tree it was found on, left in ${TMPDIR:-/tmp}.
# Long runs: ./configure --enable-fuzzing CC=clang && make fuzz/fuzz-config-libfuzzer
#   FUZZ_SEED_DIR=corpus fuzz/fuzz-config.sh
#   fuzz/fuzz-config-libfuzzer -max_len=4096 corpus
set -u
builddir=${top_builddir:-.}
bin=$builddir/fuzz/fuzz-config
work=$(mktemp -d "${TMPDIR:-/tmp}/vaudit-fuzz-config-sh.XXXXXX") || exit 99
trap 'rm -rf -- "$work"' EXIT
mkdir "$work/seeds"
if ! FUZZ_CONFIG_WRITE_SEEDS=$work/seeds "$bin" >/dev/null; then
	echo "1..1"
	echo "not ok 1 - $bin cannot write its seeds"
	exit 1
fi
# FUZZ_SEED_DIR=DIR: only write the seeds there (a corpus for libFuzzer)
if [ -n "${FUZZ_SEED_DIR:-}" ]; then
	mkdir -p "$FUZZ_SEED_DIR" && cp -- "$work"/seeds/* "$FUZZ_SEED_DIR"/
	exit
fi
total=${FUZZ_ITERATIONS:-1800}
echo "1..2"
fail=0
# run N TESTNUM [env...]: one phase, its "ok 1" renumbered
run() {
	local n=$1 num=$2 rc=0 out
	shift 2
	out=$(env FUZZ_ITERATIONS="$n" "$@" 2>"$work/err") || rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^ok 1 ' <<<"$out"; then
		sed -n "s/^ok 1 /ok $num /p" <<<"$out"
	else
		fail=1
		echo "not ok $num - $* exited with status $rc"
		sed 's/^/# /' "$work/err" | tail -20
	fi
}
run $((total / 3)) 1 "$bin"
run $((total - total / 3)) 2 FUZZ_MUTATE=1 "$bin" "$work"/seeds/*
exit $fail
