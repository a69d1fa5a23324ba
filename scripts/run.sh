#!/usr/bin/env bash
# Quick start (1): set up, build, and run pop3kit's main job on the embedded default: the
# conformance suite (conformance/transcripts) replayed against pop3kit's own mock server
# (started in process for each case), then the client-direction cases against pop3kit's
# client library. Extra arguments go to both runs (e.g. --only 'rfc1939/*', --strict).
# Exit code: 0 when no MUST case failed in either run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default --target pop3-conformance
status=0
./build/default/conformance/pop3-conformance server "$@" || status=$?
echo
./build/default/conformance/pop3-conformance client "$@" || status=$?
exit "$status"
