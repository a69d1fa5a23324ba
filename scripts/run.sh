#!/usr/bin/env bash
# Quick start (1): set up, build, and run pop3kit's main job on the embedded default: the
# conformance suite (conformance/transcripts) replayed against pop3kit's own mock server,
# started in process for each case. Extra arguments go to `pop3-conformance server`
# (e.g. --only 'rfc1939/*', --json FILE, or --target pop3://user:pass@127.0.0.1:PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default --target pop3-conformance
exec ./build/default/conformance/pop3-conformance server "$@"
