#!/bin/bash
# fuzz-journal.sh - bounded run of fuzz/fuzz-journal for make check:
#   1. FUZZ_ITERATIONS/2 (default 4000) generated inputs;
#   2. the rest: mutated copies of the journals in fuzz/journal-seeds/ (a
#      unify run with store entries, links and flag changes, a revert, and
#      a legacy conversion undone).
# The target also retries each input with valid checksums, so that the
# field parsers are reached.  Long runs:
#   ./configure --enable-fuzzing CC=clang && make fuzz/fuzz-journal-libfuzzer
#   fuzz/fuzz-journal-libfuzzer -max_len=8192 corpus fuzz/journal-seeds
set -u
builddir=${top_builddir:-.}
srcdir=${srcdir:-.}
bin=$builddir/fuzz/fuzz-journal
work=$(mktemp -d "${TMPDIR:-/tmp}/vaudit-fuzz-journal-sh.XXXXXX") || exit 99
trap 'rm -rf -- "$work"' EXIT
total=${FUZZ_ITERATIONS:-8000}
echo "1..2"
fail=0
# run N TESTNUM [env...]: one phase, its "ok 1" renumbered
run() {
	local n=$1 num=$2 rc=0 out
	shift 2
	out=$(env TMPDIR="$work" FUZZ_ITERATIONS="$n" "$@" 2>"$work/err") || rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^ok 1 ' <<<"$out"; then
		sed -n "s/^ok 1 /ok $num /p" <<<"$out"
	else
		fail=1
		echo "not ok $num - $* exited with status $rc"
		sed 's/^/# /' "$work/err" | tail -20
	fi
}
run $((total / 2)) 1 "$bin"
run $((total - total / 2)) 2 FUZZ_MUTATE=1 "$bin" "$srcdir"/fuzz/journal-seeds/*
exit $fail
