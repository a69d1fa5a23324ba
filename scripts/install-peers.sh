#!/usr/bin/env bash
# Installs the Debian packages of the peers that pop3kit is measured and checked against
# (Dovecot, poplib's python3, curl, fetchmail, mpop, …): scripts/install-peers.sh PACKAGE...
# Idempotent like scripts/setup.sh: apt-get runs only when a package is missing. Dovecot's
# maintainer scripts must not start the system-wide Dovecot (it would listen on every address):
# a policy-rc.d that forbids starting services is put in place for the install when the machine
# has none. Needs root when something is missing.
set -euo pipefail
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-peers: ${missing[*]} missing, and installing needs root" >&2
    exit 1
fi
echo "installing ${missing[*]}"
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e $policy ]; then
    printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy && own_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
rc=0
{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || rc=$?
[ $own_policy -eq 1 ] && rm -f $policy
[ $rc -eq 0 ] || { echo "install-peers: package install failed" >&2; exit 1; }
