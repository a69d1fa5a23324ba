#!/usr/bin/env bash
# Quick start (1): set up, build, and run pop3kit's main job on the embedded default.
# Until the conformance runner exists, the main job is pop3-demo: the RFC 1939 §10 session fed
# through the protocol core.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset default >/dev/null
cmake --build --preset default --target pop3-demo
exec ./build/default/examples/pop3-demo "$@"
