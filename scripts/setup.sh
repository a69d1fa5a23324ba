#!/usr/bin/env bash
# Installs every Debian 12 package that pop3kit's build and tests need.
# Idempotent: skips what is present and runs `apt-get update` only when something is missing.
set -euo pipefail

packages=(
    cmake ninja-build ccache git
    g++-12
    clang-14 llvm-14 libclang-rt-14-dev clang-format-14
    libboost1.81-dev libssl-dev openssl
    catch2 libtomlplusplus-dev
    chromium # the HTML report's browser test (tests/html/check_report.py)
    help2man dpkg-dev # the Debian package: man pages from --help, dpkg-shlibdeps (docs/packaging.md)
    python3-pytest    # the pytest fixture for the mock server (embed/python, docs/embedding.md)
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root to install packages (try: sudo $0)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
