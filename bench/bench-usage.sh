#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# bench-usage.sh - time `vaudit --usage ROOT` against `du -s` per guest:
# bench-clone.sh --bench usage, with the same options.  See bench/README.md.
exec "$(dirname "$0")/bench-clone.sh" --bench usage "$@"
