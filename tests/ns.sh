# SPDX-License-Identifier: GPL-2.0-or-later
# tests/ns.sh - sourced by a test first, before tests/lib.sh (which makes
# the test's temporary directory): as root, where a private mount namespace
# can be made, the test runs again inside one (unshare -m, propagation
# private), with VAUDIT_TEST_NS=1; elsewhere it goes on as it is.  What it
# mounts there is never seen by the host and goes away with the test.  A
# test in the namespace calls ns_release_foreign (tests/lib.sh) before it
# mounts anything.
if [ -z "${VAUDIT_TEST_NS-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare -m --propagation private true 2>/dev/null; then
	VAUDIT_TEST_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
