#!/usr/bin/env bash
# Fails when any tracked C++ file differs from what clang-format-14 makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=$(command -v clang-format-14 || command -v clang-format)
bad=0
while IFS= read -r f; do
    if ! "$formatter" --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: $formatter -i $f)"
        bad=1
    fi
done < <(git ls-files -co --exclude-standard '*.cpp' '*.hpp')
[ "$bad" -eq 0 ] && echo "format: ok"
exit "$bad"
