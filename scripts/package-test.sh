#!/usr/bin/env bash
# The package test (docs/packaging.md): builds the Debian package with CPack (preset "package":
# Release, installed under /usr, man pages from --help), unpacks it with dpkg -x into a
# throw-away root (no system install), and checks the unpacked files as a user would use them:
# every program answers --version; the installed pop3-conformance reads the installed
# transcripts (found next to the program: ROOT/usr/bin/../share/pop3kit, the same lookup that
# finds /usr/share/pop3kit) and passes against the installed pop3-mockserver; and the consumer
# project (tests/consumer/project) builds against the unpacked files with find_package(pop3kit)
# and runs its ctest, pop3kit_add_conformance_test() for a server and for a client included.
# Usage: scripts/package-test.sh [--keep]   (--keep: leave the root and the consumer build)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = --keep ] && keep=1
step() { echo "-- [package $SECONDS s] $*"; }
fail() { echo "package test: FAILED: $*" >&2; exit 1; }

step "build (preset package) and cpack -G DEB"
cmake --preset package >/dev/null
cmake --build --preset package
(cd build/package && cpack -G DEB >/dev/null)
version=$(sed -nE 's/^project\(pop3kit VERSION ([0-9.]+).*/\1/p' CMakeLists.txt)
deb=build/package/pop3kit_${version}_amd64.deb
[ -f "$deb" ] || fail "no $deb"
dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Architecture|Depends):'

work=$(mktemp -d /tmp/pop3kit-package.XXXXXX)
if [ $keep -eq 0 ]; then trap 'rm -rf "$work"' EXIT; else echo "keeping $work"; fi
root=$work/root
step "dpkg -x into $root"
dpkg -x "$deb" "$root"
bin=$root/usr/bin
share=$root/usr/share/pop3kit
for f in bin/pop3-client bin/pop3-mockserver bin/pop3-conformance bin/pop3-load bin/pop3-fuzz \
         include/pop3/version.hpp include/pop3/client/client.hpp \
         share/man/man1/pop3-conformance.1.gz share/pop3kit/adapters/pop3-client.py \
         share/pop3kit/scenarios/stls-injection-lines.toml; do
    [ -e "$root/usr/$f" ] || fail "the package has no /usr/$f"
done
ls "$root"/usr/lib/*/libpop3_{protocol,net,client,mockserver_core,mockserver}.a >/dev/null ||
    fail "a static library is missing"
ls "$root"/usr/lib/*/cmake/pop3kit/pop3kitConfig.cmake >/dev/null || fail "no pop3kitConfig.cmake"

step "every program answers --version; man pages"
for p in pop3-client pop3-mockserver pop3-conformance pop3-load pop3-fuzz; do
    out=$("$bin/$p" --version) || fail "$p --version exited $?"
    [ "$out" = "$p $version" ] || fail "$p --version printed '$out', not '$p $version'"
    zcat "$root/usr/share/man/man1/$p.1.gz" | grep -q '^\.TH' || fail "no man page for $p"
    zcat "$root/usr/share/man/man1/$p.1.gz" | grep -q -- 'version' || fail "$p.1: no --version"
done

step "the installed pop3-conformance reads the installed transcripts"
unset POP3KIT_DATA_DIR
all=$("$bin/pop3-conformance" server --list | grep -c '^[a-z]')
# Take one transcript away from the unpacked root only: the installed program must see it gone
# (it reads ROOT/usr/share/pop3kit, not the source tree nor /usr/share/pop3kit).
victim=$(find "$share/transcripts/rfc1939" -name '*.pop3' | sort | head -1)
mv "$victim" "$work/victim"
fewer=$("$bin/pop3-conformance" server --list | grep -c '^[a-z]')
mv "$work/victim" "$victim"
[ "$fewer" -lt "$all" ] || fail "removing $victim from the root did not change --list ($all cases)"
echo "installed transcripts: $all cases; $fewer without ${victim#"$root"}"

step "installed pop3-conformance server against the installed pop3-mockserver (STLS)"
gate=$(ls "$root"/usr/lib/*/cmake/pop3kit/pop3kit-server-gate.sh)
bash "$gate" --conformance "$bin/pop3-conformance" --no-color --starttls --ca "$work/cert.pem" \
    --junit "$work/server.xml" --html "$work/server.html" \
    --server "$bin/pop3-mockserver" --listen 127.0.0.1:0 --cert-out "$work/cert.pem" --quiet |
    tail -n 1
[ -s "$work/server.xml" ] && [ -s "$work/server.html" ] || fail "no JUnit or HTML report"

step "the installed Python fixture (share/pop3kit/python) starts the installed pop3-mockserver"
PYTHONPATH="$root/usr/share/pop3kit/python" POP3KIT_MOCKSERVER="$bin/pop3-mockserver" \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/embed | tail -n 1

step "the consumer project against the unpacked root: find_package(pop3kit), pop3kit_add_conformance_test"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S tests/consumer/project -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER=g++-12 "${launcher[@]}" -DCMAKE_PREFIX_PATH="$root/usr" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DPOP3_CONSUMER_GATES=ON >/dev/null
found=$(sed -n 's/^pop3kit_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")
case "$found" in "$root"/*) ;; *) fail "find_package(pop3kit) found $found, not the root" ;; esac
cmake --build "$work/consumer"
ctest --test-dir "$work/consumer" --output-on-failure
for t in mockserver_conformance pop3_client_conformance; do
    [ -s "$work/consumer/pop3kit-conformance/$t.xml" ] &&
        [ -s "$work/consumer/pop3kit-conformance/$t.html" ] || fail "$t: no JUnit or HTML report"
done
step "package test passed"
