#!/usr/bin/env bash
# pop3kit's interop stage (issues 7, 12, 13): pop3kit against real POP3 software, on 127.0.0.1
# only.
#
#   a. starts Dovecot 2.3 from a generated config in a temporary folder (its own base_dir,
#      Maildir, passwd-file and self-signed certificate; nothing system-wide changes);
#   b. pop3-client against Dovecot: every command, plain / STLS / implicit TLS, USER/PASS,
#      APOP, AUTH PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256; retrieved bytes compared with the
#      generated files;
#   c. pop3-conformance server against Dovecot (plain, --starttls, pop3s), verdicts compared
#      with interop/dovecot-expected.txt (pop3-conformance --expect, one [RUN] section each);
#  c2. a second Dovecot with its stock login penalty: the cases with a login after a failed one;
#   d. Python poplib, curl, fetchmail and mpop against pop3-mockserver;
#   e. pop3-conformance client (the client cases, docs/client-conformance.md) against poplib,
#      curl, fetchmail and mpop through interop/adapters/PROGRAM.py, verdicts compared with
#      interop/clients-expected.txt (pop3-conformance --expect, one [PROGRAM] section each);
#   f. side by side with e: Courier, Cyrus, popa3d and GNU Mailutils pop3d, each started by
#      interop/servers/NAME/start.sh, pop3-conformance server against it as in part c, verdicts
#      compared with interop/servers/NAME/expected.txt.
#   g. the ecosystem matrix: pop3-conformance matrix sets every conformance run of c, e and f
#      side by side (interop-reports/matrix.html and matrix.md); --update-docs puts matrix.md
#      into docs/interop.md (interop/matrix_docs.py).
#
# Prints "ok CHECK" or "FAIL CHECK: reason" per check and "N passed, N failed" last; exits 1
# when a check failed. Needs root (it installs Debian packages when missing, and Dovecot's
# master process runs as root). docs/interop.md describes the checks and the results.
#
# usage: interop/run.sh [--update-expected] [--keep] [--only PARTS]
#   --update-expected  rewrite interop/dovecot-expected.txt, interop/servers/NAME/expected.txt
#                      and interop/clients-expected.txt (of the parts that ran) from this
#                      run's conformance results (after transcripts or cases were added or
#                      changed), then review and commit them
#   --update-docs      rewrite the matrix tables of docs/interop.md from this run's matrix.md
#                      (between its <!-- matrix: ... --> and <!-- /matrix --> lines)
#   --keep             keep the temporary folder (configs, logs, deliveries) and print its path
#   --only PARTS       run only these comma-separated parts: dovecot (a, b, c, c2), courier,
#                      cyrus, popa3d, mailutils (f), poplib, curl, fetchmail, mpop,
#                      conformance-clients (e) (for development; CI runs everything)
#   --build-dir DIR    take pop3-client, pop3-mockserver and pop3-conformance from DIR (e.g.
#                      build/ci after scripts/test.sh) instead of build/default; nothing is
#                      built then
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
HERE=$ROOT/interop
START=$(date +%s)

update_expected=0
update_docs=0
keep=0
servers=(courier cyrus popa3d mailutils)
only=dovecot,$(IFS=,; echo "${servers[*]}"),poplib,curl,fetchmail,mpop,conformance-clients
build_dir=
while [ $# -gt 0 ]; do
    arg=$1
    shift
    case $arg in
        --update-expected) update_expected=1 ;;
        --update-docs) update_docs=1 ;;
        --keep) keep=1 ;;
        --only) only=${1:-}; shift ;;
        --build-dir) build_dir=${1:-}; shift ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "interop: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

for part in ${only//,/ }; do
    case $part in
        dovecot | courier | cyrus | popa3d | mailutils | poplib | curl | fetchmail | mpop | conformance-clients) ;;
        *) echo "interop: unknown part '$part' for --only (try --help)" >&2; exit 2 ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "interop: must run as root (Dovecot's master process and package installs)" >&2
    exit 2
fi

# ---------------------------------------------------------------------------------------------
# Packages (idempotent; see scripts/install-peers.sh).
bash scripts/install-peers.sh dovecot-core dovecot-pop3d fetchmail mpop curl python3 openssl ||
    { echo "interop: package install failed" >&2; exit 1; }
bash scripts/setup.sh >/dev/null || { echo "interop: scripts/setup.sh failed" >&2; exit 1; }
# The interpreter itself, not a version manager's shim in front of it (pyenv's costs a few
# shell processes per start, and part e starts a Python adapter per run).
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || { echo "interop: no python3" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# pop3kit's programs: --build-dir's, or the default preset's, built only when absent.
BUILD=$ROOT/build/default
if [ -n "$build_dir" ]; then
    BUILD=$(cd "$build_dir" 2>/dev/null && pwd) || { echo "interop: no folder $build_dir" >&2; exit 2; }
fi
CLIENT=$BUILD/client/pop3-client
# Each conformance run's HTML report and JSON results (pop3-conformance --html, --json) stay
# here after the stage, for a maintainer to open (and for a CI to keep as artifacts).
REPORTS=$BUILD/interop-reports
MOCK=$BUILD/mockserver/pop3-mockserver
CONFORMANCE=$BUILD/conformance/pop3-conformance
if [ -n "$build_dir" ]; then
    for b in "$CLIENT" "$MOCK" "$CONFORMANCE"; do
        [ -x "$b" ] || { echo "interop: $b is missing (--build-dir $build_dir)" >&2; exit 2; }
    done
elif [ ! -x "$CLIENT" ] || [ ! -x "$MOCK" ] || [ ! -x "$CONFORMANCE" ]; then
    echo "interop: building pop3-client, pop3-mockserver, pop3-conformance"
    mkdir -p "$ROOT/build"
    if ! { [ -f "$BUILD/build.ninja" ] || cmake --preset default >"$ROOT/build/interop-build.log" 2>&1; } ||
        ! cmake --build --preset default --target pop3-client pop3-mockserver pop3-conformance \
            >>"$ROOT/build/interop-build.log" 2>&1; then
        tail -30 "$ROOT/build/interop-build.log"
        echo "interop: build failed" >&2
        exit 1
    fi
fi

# ---------------------------------------------------------------------------------------------
# Results.
want() { [[ ",$only," == *",$1,"* ]]; }
passed=0
failed=0
ok() { echo "ok $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
# Echoes and counts the "ok ..." / "FAIL ..." lines a check program printed; any other line
# is shown as is. A program that exits non-zero without printing a FAIL line counts as a FAIL.
tally() { # NAME EXIT-CODE FILE
    local name=$1 code=$2 file=$3 line fails_before=$failed
    while IFS= read -r line; do
        case $line in
            "ok "*) echo "$line"; passed=$((passed + 1)) ;;
            "FAIL "*) echo "$line"; failed=$((failed + 1)) ;;
            *) echo "  $line" ;;
        esac
    done < "$file"
    if [ "$code" -ne 0 ] && [ $failed -eq $fails_before ]; then
        fail "$name: exited $code"
    fi
}
section() { echo "== $* ($(($(date +%s) - START)) s)"; }
# The golden files (expected verdicts): interop/report.py's one writer. Writes FILE from the
# HEADER lines (as "# " comments) and the verdict lines of VERDICTS; echoes how many verdicts.
write_expected() { # FILE VERDICTS HEADER-LINE...
    "$PYTHON" "$HERE/report.py" write-expected "$@"
}

# ---------------------------------------------------------------------------------------------
# The temporary folder, and stopping everything this script started, always.
TMP=$(mktemp -d /tmp/pop3kit-interop.XXXXXX)
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
chmod 755 "$TMP" # Dovecot's mail process (uid nobody) must reach the Maildir
mock_pids=()
dovecot_stock_conf=
server_dirs=()
e_jobs=()
f_jobs=()
# Stops the Dovecot of CONFIG (its base_dir is CONFIG's folder/run), if it was started.
stop_dovecot() { # CONFIG
    local conf=$1 pid
    [ -n "$conf" ] && [ -f "$(dirname "$conf")/run/master.pid" ] || return 0
    pid=$(cat "$(dirname "$conf")/run/master.pid")
    dovecot -c "$conf" stop 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    return 0
}
# Ends a background job and everything it started (its clients run in process groups of their
# own, so the job's group is not enough): children first, found through /proc.
kill_tree() { # PID
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
    kill -TERM "$1" 2>/dev/null
}
cleanup() {
    local pid
    for pid in "${mock_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    stop_dovecot "$dovecot_stock_conf"
    local entry job
    for job in "${e_jobs[@]}" "${f_jobs[@]}"; do kill_tree "$job"; done
    for entry in "${server_dirs[@]}"; do
        bash "$HERE/servers/${entry%%:*}/stop.sh" "${entry#*:}" >/dev/null 2>&1
    done
    [ -n "$(ls -A "$REPORTS" 2>/dev/null)" ] && echo "interop: HTML reports in $REPORTS"
    if [ $keep -eq 1 ]; then
        echo "interop: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_ports COUNT, wait_port PORT [PIDFILE], server_env FILE NAME, urlenc S, make_cert KEY CERT
# shellcheck source=interop/common.sh
. "$HERE/common.sh"

# The maildrop: OUT/expected (CRLF, what a server must deliver) and OUT/Maildir (LF, Dovecot).
"$PYTHON" "$HERE/gen_maildrop.py" "$TMP/maildrop"
EXPECTED=$TMP/maildrop/expected

# Starts pop3-mockserver serving u:p the expected maildrop, plain and implicit TLS, recording
# sessions; sets MOCK_DIR MOCK_PORT MOCK_TLS_PORT MOCK_PEM.
start_mock() { # NAME
    MOCK_DIR=$TMP/mock-$1
    mkdir -p "$MOCK_DIR/rec"
    "$MOCK" --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 --cert-out "$MOCK_DIR/cert.pem" \
        --user u:p --maildrop "$EXPECTED" --record "$MOCK_DIR/rec" --threads 2 \
        >"$MOCK_DIR/out" 2>"$MOCK_DIR/err" &
    local pid=$!
    mock_pids+=("$pid")
    for _ in $(seq 100); do
        grep -qs '^listening pop3s ' "$MOCK_DIR/out" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    MOCK_PORT=$(sed -n 's/^listening pop3 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$MOCK_DIR/out")
    MOCK_TLS_PORT=$(sed -n 's/^listening pop3s 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$MOCK_DIR/out")
    MOCK_PEM=$MOCK_DIR/cert.pem
    [ -n "$MOCK_PORT" ] && [ -n "$MOCK_TLS_PORT" ] && [ -s "$MOCK_PEM" ]
}
# "C: ..." lines the mock server recorded for a check's sessions.
recorded() { cat "$MOCK_DIR"/rec/* 2>/dev/null | grep -E "^C: $1" >/dev/null; }
mock_stat() { "$CLIENT" "pop3://u:p@127.0.0.1:$MOCK_PORT" stat 2>&1; }

# pop3-conformance server against a running server: a plain run (with --ca, so that the cases
# that send STLS themselves verify the certificate), a --starttls run when the plain port
# offers STLS, and an implicit-TLS run when there is a TLS URL, each with --provision. Each run
# compares its verdicts with its [RUN] section of EXPECTED itself (--expect, --expect-section):
# "baseline: matches FILE [RUN] (N verdicts)" above its counts, or the new failures, fixed cases
# and other changed verdicts, and exit 1. With --update-expected it writes the sections instead
# (--update-expect) and joins them under a header into EXPECTED.
reach() { # RESULTS.json: how many of the cases that apply to the server were judged (issue 13)
    "$PYTHON" - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
total = len(r["cases"])
na = r.get("not_applicable", 0)
judged = r["passed"] + r["failed"]  # an error is a case the runner could not judge
print("judged %d of the %d cases that apply (%.1f%%; %d errors), %d n/a" % (
      judged, total - na, 100.0 * judged / max(1, total - na), r["errors"], na))
PY
}

server_conformance() { # NAME EXPECTED PLAIN-URL STLS(0|1) TLS-URL|"" CA PROVISION FORMAT OUTDIR [RUNS]
    local name=$1 expected=$2 plain=$3 stls=$4 tls_url=$5 ca=$6 provision=$7 format=$8 out=$9
    local only_runs=${10:-} run args code n verdicts=0 incomplete=0 differing=() runs=(plain)
    [ "$stls" = 1 ] && runs+=(starttls)
    [ -n "$tls_url" ] && runs+=(tls)
    # RUNS (a server's choice, explained in its README) leaves runs out; the others' ports are
    # still named, so their cases still run.
    if [ -n "$only_runs" ]; then
        local chosen=()
        for run in "${runs[@]}"; do [[ " $only_runs " == *" $run "* ]] && chosen+=("$run"); done
        runs=("${chosen[@]}")
    fi
    mkdir -p "$out"
    : > "$out/verdicts.txt"
    for run in "${runs[@]}"; do
        # Each run also names the other port, so that the cases needing the other kind of
        # connection run there instead of being skipped (--tls-port, --plain-port).
        case $run in
            plain) args=(--target "$plain") ;;
            starttls) args=(--target "$plain" --starttls) ;;
            tls) args=(--target "$tls_url" --plain-port "${plain##*:}") ;;
        esac
        [ "$run" != tls ] && [ -n "$tls_url" ] && args+=(--tls-port "${tls_url##*:}")
        [ -n "$ca" ] && args+=(--ca "$ca")
        [ -n "$provision" ] && args+=(--provision "$provision" --fixture-format "$format")
        if [ $update_expected -eq 1 ]; then
            args+=(--update-expect "$out/$run.txt" --expect-section "$run")
        else
            args+=(--expect "$expected" --expect-section "$run")
        fi
        "$CONFORMANCE" server "${args[@]}" --transcripts "$ROOT/conformance/transcripts" \
            --no-color --json "$out/$run.json" --html "$REPORTS/$(basename "$out")-$run.html" \
            >"$out/$run.log" 2>&1
        code=$?
        cp "$out/$run.json" "$REPORTS/$(basename "$out")-$run.json" 2>/dev/null
        # 0 or 1 are verdicts (with --expect: matches or not); 2 is a bad command line, a
        # malformed transcript or a malformed expected file.
        if [ $code -ge 2 ] || { [ $update_expected -eq 1 ] && [ ! -s "$out/$run.txt" ]; }; then
            fail "conformance $name [$run]: pop3-conformance exited $code:"
            tail -5 "$out/$run.log" | sed 's/^/  /'
            incomplete=1
            continue
        fi
        echo "  [$run] $(tail -1 "$out/$run.log"); $(reach "$out/$run.json")"
        if [ $update_expected -eq 1 ]; then
            grep -v '^#' "$out/$run.txt" >> "$out/verdicts.txt"
        elif [ $code -eq 0 ]; then
            n=$(sed -n 's/^baseline: matches .* (\([0-9]*\) verdicts\{0,1\})$/\1/p' "$out/$run.log")
            verdicts=$((verdicts + ${n:-0}))
        else
            differing+=("$run")
        fi
    done
    local file=${expected#"$ROOT/"}
    if [ $update_expected -eq 1 ]; then
        if [ $incomplete -eq 0 ]; then
            if n=$(write_expected "$expected" "$out/verdicts.txt" \
                "pop3-conformance server against $name as interop/run.sh configures it:" \
                "a [RUN] section per run (${runs[*]}), one line per case, ID VERDICT; each run" \
                "is checked with --expect FILE --expect-section RUN. Every failure is explained in" \
                "docs/interop.md. Regenerate after changing transcripts: interop/run.sh --update-expected"); then
                ok "conformance $name: wrote $file ($n verdicts); review and commit it"
            else
                fail "conformance $name: could not write $file"
            fi
        else
            fail "conformance $name: $file not rewritten: a run did not complete"
        fi
    elif [ ${#differing[@]} -eq 0 ]; then
        [ $incomplete -eq 0 ] && ok "conformance $name: $verdicts verdicts as in $file"
    else
        fail "conformance $name: verdicts differ from $file in ${differing[*]}:"
        for run in "${differing[@]}"; do
            sed -n '/^baseline /,/^baseline: /p' "$out/$run.log" | sed 's/^/  /'
        done
        echo "  Rerun one: $CONFORMANCE server --target URL --only ID"
        echo "  (interop/run.sh --keep keeps the server's folder, config and log, to look at.)"
        echo "  If the change is intended (transcripts added, changed or fixed), regenerate the"
        echo "  file, review its diff and commit it: interop/run.sh --update-expected"
    fi
}

dovecot_up=0
if want dovecot; then
# =============================================================================================
section "a. Dovecot $(dovecot --version | cut -d' ' -f1) on 127.0.0.1"
# interop/servers/dovecot/start.sh: interop/dovecot.conf.in with everything under $DV, and a
# user whose name and password hold '@' and '%', which make every client percent-encode them in
# URLs and carry them into APOP, CRAM-MD5 and SCRAM digests; up once a login works on each port.
DV=$TMP/dovecot
server_dirs+=("dovecot:$DV")
if bash "$HERE/servers/dovecot/start.sh" "$DV" "$TMP/maildrop" >"$TMP/dovecot.start.log" 2>&1; then
    DV_PORT=$(server_env "$DV/server.env" PORT)
    DV_TLS_PORT=$(server_env "$DV/server.env" TLS_PORT)
    DV_USER=$(server_env "$DV/server.env" USER)
    DV_PASS=$(server_env "$DV/server.env" PASS)
    DV_CRED="$(urlenc "$DV_USER"):$(urlenc "$DV_PASS")"
    ok "dovecot: started, pop3 127.0.0.1:$DV_PORT (STLS), pop3s 127.0.0.1:$DV_TLS_PORT"
    dovecot_up=1
else
    fail "dovecot: did not start:"
    tail -20 "$TMP/dovecot.start.log" | sed 's/^/  /'
fi
fi

if [ $dovecot_up -eq 1 ]; then
    # =========================================================================================
    section "b. pop3-client against Dovecot"
    "$PYTHON" "$HERE/client_check.py" --client "$CLIENT" --port "$DV_PORT" --tls-port "$DV_TLS_PORT" \
        --ca "$DV/cert.pem" --user "$DV_USER" --password "$DV_PASS" --maildrop "$EXPECTED" \
        >"$TMP/client.out" 2>&1
    tally "pop3-client against Dovecot" $? "$TMP/client.out"

    # =========================================================================================
    section "c. pop3-conformance server against Dovecot"
    # The cases that name a maildrop (dots, empty, generate:N:S, ...) run too: before each, the
    # fixture replaces the user's Maildir; the original comes back for the others.
    server_conformance "Dovecot $(dovecot --version | cut -d' ' -f1)" "$HERE/dovecot-expected.txt" \
        "pop3://$DV_CRED@127.0.0.1:$DV_PORT" 1 "pop3s://$DV_CRED@127.0.0.1:$DV_TLS_PORT" \
        "$DV/cert.pem" "sh '$HERE/provision-dovecot.sh' '$DV/Maildir' {maildrop} {dir}" maildir \
        "$TMP/conformance-dovecot"

    # =========================================================================================
    section "c2. pop3-conformance server against a second Dovecot with its stock login penalty"
    # The Dovecot above answers failed logins at once. A stock one delays them (2 s, then a
    # per-address penalty doubling up to 15 s): the runner must wait longer after a failed
    # login (docs/transcripts.md) and never call a late answer a failure. The cases where a
    # correct login follows a failed one, with --timeout 8 (24 s after a failed login).
    DVS=$TMP/dovecot-stock
    mkdir -p "$DVS/home"
    cp -r "$DV/Maildir" "$DV/passwd" "$DV/cert.pem" "$DV/key.pem" "$DVS/"
    chown -R nobody:nogroup "$DVS/Maildir" "$DVS/home"
    chown root:dovecot "$DVS/passwd" && chmod 640 "$DVS/passwd"
    read -r DVS_PORT DVS_TLS_PORT <<<"$(free_ports 2)"
    sed -e "s|$DV|$DVS|g" \
        -e "s/port = $DV_PORT\$/port = $DVS_PORT/" -e "s/port = $DV_TLS_PORT\$/port = $DVS_TLS_PORT/" \
        -e '/^auth_failure_delay = 0$/d' "$DV/dovecot.conf" |
        awk '/^service anvil \{/ { skip = 1 } !skip { print } skip && /^\}/ { skip = 0 }' \
            > "$DVS/dovecot.conf"
    dovecot_stock_conf=$DVS/dovecot.conf
    if ! grep -q "port = $DVS_PORT" "$DVS/dovecot.conf" || grep -q '^auth_failure_delay = 0$\|^service anvil' "$DVS/dovecot.conf"; then
        fail "dovecot (stock penalty): could not derive its configuration"
    elif dovecot -c "$dovecot_stock_conf" && wait_port "$DVS_PORT"; then
        penalty_cases=(rfc3206/4/AUTH/retry rfc1939/7/APOP/bad-digest-retry rfc1939/4/retry-after-failed-PASS)
        only_args=()
        for id in "${penalty_cases[@]}"; do only_args+=(--only "$id"); done
        t0=$(date +%s)
        "$CONFORMANCE" server --target "pop3://$DV_CRED@127.0.0.1:$DVS_PORT" --ca "$DVS/cert.pem" \
            --timeout 8 "${only_args[@]}" --transcripts "$ROOT/conformance/transcripts" --no-color \
            --json "$TMP/conformance-dovecot-stock.json" >"$TMP/conformance-dovecot-stock.log" 2>&1
        summary=$(tail -1 "$TMP/conformance-dovecot-stock.log")
        # Passed with the retry exercised: not an error, and not ended early at !may-close.
        if [ "$summary" = "${#penalty_cases[@]} passed, 0 failed, 0 skipped" ] &&
            ! grep -q '"result": *"error"\|closed at !may-close' "$TMP/conformance-dovecot-stock.json"; then
            ok "dovecot (stock penalty): ${#penalty_cases[@]} cases with a login after a failed one pass ($(($(date +%s) - t0)) s)"
        else
            fail "dovecot (stock penalty): expected ${#penalty_cases[@]} passed, got: $summary"
            grep -v '^ *✔' "$TMP/conformance-dovecot-stock.log" | tail -12 | sed 's/^/  /'
        fi
    else
        fail "dovecot (stock penalty): did not start"
    fi

    # Known mpop quirk, kept as a check so that a change shows: Dovecot's APOP timestamp
    # (<...==@host>, base64 with '=') is refused by mpop, which then reports no APOP support.
    cat > "$TMP/mpoprc-dovecot" <<EOF
account dovecot
host 127.0.0.1
port $DV_PORT
user $DV_USER
password $DV_PASS
auth apop
tls off
keep on
uidls_file $TMP/mpop-dovecot.uidls
delivery mbox $TMP/mpop-dovecot.mbox
EOF
    chmod 600 "$TMP/mpoprc-dovecot"
    if out=$(timeout 60 mpop -C "$TMP/mpoprc-dovecot" -q dovecot 2>&1); then
        fail "mpop APOP against Dovecot: accepted now (docs/interop.md says mpop refuses Dovecot's timestamp; update both)"
    elif grep -q 'does not support authentication method APOP' <<<"$out"; then
        ok "mpop APOP against Dovecot: refused by mpop as documented (timestamp with '=')"
    else
        fail "mpop APOP against Dovecot: unexpected error: $out"
    fi
fi

# =============================================================================================
if want poplib; then
section "d1. Python $("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') poplib against pop3-mockserver"
if start_mock poplib; then
    "$PYTHON" "$HERE/poplib_check.py" --port "$MOCK_PORT" --tls-port "$MOCK_TLS_PORT" --ca "$MOCK_PEM" \
        --user u --password p --maildrop "$EXPECTED" >"$TMP/poplib.out" 2>&1
    tally poplib $? "$TMP/poplib.out"
else
    fail "poplib: pop3-mockserver did not start: $(cat "$MOCK_DIR/err")"
fi
fi

# =============================================================================================
if want curl; then
section "d2. $(curl --version | head -1 | cut -d' ' -f1-2) against pop3-mockserver"
if start_mock curl; then
    P=$MOCK_PORT
    T=$MOCK_TLS_PORT
    curl_check() { # NAME EXPECTED-FILE CURL-ARGS...
        local name=$1 want=$2
        shift 2
        if curl -sS --max-time 30 "$@" >"$TMP/curl.out" 2>"$TMP/curl.err"; then
            if cmp -s "$TMP/curl.out" "$want"; then ok "curl: $name"
            else fail "curl: $name: output differs from $(basename "$want"): $(cmp "$TMP/curl.out" "$want" 2>&1)"; fi
        else
            fail "curl: $name: exit $?: $(cat "$TMP/curl.err")"
        fi
    }
    "$PYTHON" - "$EXPECTED" > "$TMP/list.want" <<'EOF'
import os, sys
d = sys.argv[1]
for i, f in enumerate(sorted(os.listdir(d)), 1):
    sys.stdout.write("%d %d\r\n" % (i, os.path.getsize(os.path.join(d, f))))
EOF
    "$PYTHON" - "$EXPECTED/01.eml" > "$TMP/top1.want" <<'EOF'
import sys
m = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(m.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
EOF
    curl_check "LIST over pop3://" "$TMP/list.want" "pop3://u:p@127.0.0.1:$P/"
    for f in "$EXPECTED"/*.eml; do
        n=$((10#$(basename "$f" .eml)))
        curl_check "RETR $n over pop3:// byte-identical" "$f" "pop3://u:p@127.0.0.1:$P/$n"
    done
    curl_check "RETR 3 over pop3s:// (--cacert)" "$EXPECTED/03.eml" --cacert "$MOCK_PEM" "pop3s://u:p@127.0.0.1:$T/3"
    curl_check "RETR 4 over STLS (--ssl-reqd)" "$EXPECTED/04.eml" --ssl-reqd --cacert "$MOCK_PEM" "pop3://u:p@127.0.0.1:$P/4"
    curl_check "TOP 1 0 (-X TOP, URL /1%200)" "$TMP/top1.want" -X TOP "pop3://u:p@127.0.0.1:$P/1%200"
    if curl -sS --max-time 30 -X UIDL "pop3://u:p@127.0.0.1:$P/" > "$TMP/curl.out" 2>&1 &&
        [ "$(cut -d' ' -f1 "$TMP/curl.out" | tr -d '\r' | tr '\n' ' ')" = "1 2 3 4 5 6 " ]; then
        ok "curl: UIDL (-X UIDL) lists 6 messages"
    else
        fail "curl: UIDL: $(head -c 300 "$TMP/curl.out")"
    fi
    for lo in AUTH=+APOP AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5 'AUTH=*'; do
        case $lo in
            AUTH=+APOP) cmd='APOP u ' ;;
            'AUTH=*') cmd='AUTH ' ;;
            *) cmd="AUTH ${lo#AUTH=}" ;;
        esac
        for scheme in pop3 pop3s stls; do
            case $scheme in
                pop3) url=("pop3://u:p@127.0.0.1:$P/6") ;;
                pop3s) url=(--cacert "$MOCK_PEM" "pop3s://u:p@127.0.0.1:$T/6") ;;
                stls) url=(--ssl-reqd --cacert "$MOCK_PEM" "pop3://u:p@127.0.0.1:$P/6") ;;
            esac
            if curl -sS -v --max-time 30 --login-options "$lo" "${url[@]}" >"$TMP/curl.out" 2>"$TMP/curl.err" &&
                cmp -s "$TMP/curl.out" "$EXPECTED/06.eml" && grep -q "^> $cmd" "$TMP/curl.err"; then
                ok "curl: --login-options $lo over $scheme: sent '$cmd...', RETR 6 byte-identical"
            else
                fail "curl: --login-options $lo over $scheme: $(grep -E '^(> (APOP|AUTH|USER)|< -ERR|curl:)' "$TMP/curl.err" | tr '\n' ' ')"
            fi
        done
    done
    if curl -sS --max-time 30 "pop3s://u:p@127.0.0.1:$T/1" >/dev/null 2>"$TMP/curl.err"; then
        fail "curl: pop3s:// without --cacert was accepted"
    else
        ok "curl: pop3s:// without --cacert refuses the self-signed certificate"
    fi
    total=$(cat "$EXPECTED"/*.eml | wc -c)
    size1=$(stat -c %s "$EXPECTED/01.eml")
    if curl -sS --max-time 30 -X DELE -I "pop3://u:p@127.0.0.1:$P/1" >/dev/null 2>"$TMP/curl.err" &&
        [ "$(mock_stat)" = "5 $((total - size1))" ]; then
        ok "curl: DELE (-X DELE -I) then QUIT removed message 1"
    else
        fail "curl: DELE: $(cat "$TMP/curl.err") / stat now: $(mock_stat)"
    fi
else
    fail "curl: pop3-mockserver did not start: $(cat "$MOCK_DIR/err")"
fi
fi

# =============================================================================================
if want fetchmail; then
section "d3. $(fetchmail --version 2>/dev/null | sed -n 's/^This is fetchmail release \([^+]*\).*/fetchmail \1/p') against pop3-mockserver"
# Each run fetches and deletes everything (fetchmail's default), so each gets its own server.
fetchmail_run() { # ID NAME "SERVER OPTIONS" "USER OPTIONS" RECORDED-COMMAND... (@CERT@: the cert)
    local id=$1 name=$2 sopts=$3 opts=$4
    shift 4
    if ! start_mock "fetchmail-$id"; then fail "fetchmail [$name]: pop3-mockserver did not start"; return; fi
    local d=$TMP/fetchmail-$id
    opts=${opts//@CERT@/\"$MOCK_PEM\"}
    local port=$MOCK_PORT
    [[ " $opts " == *" ssl "* ]] && port=$MOCK_TLS_PORT
    mkdir -p "$d/out"
    cat > "$d/rc" <<EOF
set no syslog
poll 127.0.0.1 port $port $sopts
  user "u" there with password "p" is "root" here
  $opts
  mda "$HERE/mda.sh $d/out"
  fetchall
EOF
    chmod 600 "$d/rc"
    if FETCHMAILHOME=$d timeout 120 fetchmail -f "$d/rc" --pidfile "$d/pid" --nodetach -v \
        >"$d/log" 2>&1; then
        ok "fetchmail [$name]: fetched"
    else
        fail "fetchmail [$name]: exit $?: $(grep -v '^reading\|^fetchmail: POP3[<>]' "$d/log" | tail -3 | tr '\n' ' ')"
    fi
    "$PYTHON" "$HERE/compare_delivered.py" "fetchmail [$name]" "$EXPECTED" files "$d/out" \
        --fetchmail-long-lines > "$d/compare" 2>&1
    tally "fetchmail [$name]" $? "$d/compare"
    local c
    for c in "$@"; do
        case $c in
            !*) if recorded "${c#!}"; then fail "fetchmail [$name]: sent ${c#!} now (docs/interop.md says it does not: update both)"
                else ok "fetchmail [$name]: sent no ${c#!} (known fetchmail quirk, docs/interop.md)"; fi ;;
            *) if recorded "$c"; then ok "fetchmail [$name]: sent $c"; else fail "fetchmail [$name]: never sent $c"; fi ;;
        esac
    done
    if [ "$(mock_stat)" = "0 0" ]; then ok "fetchmail [$name]: DELE + QUIT emptied the maildrop"
    else fail "fetchmail [$name]: maildrop after the run: $(mock_stat)"; fi
}
# sslproto '' turns fetchmail's opportunistic STLS off, sslproto auto makes STLS mandatory.
# fetchmail matches the certificate against the poll name and ignores IP addresses in it:
# sslcommonname localhost names the certificate's DNS name.
fetchmail_run plain "USER/PASS, plaintext" "proto POP3 auth password" "sslproto ''" "USER u" "PASS"
fetchmail_run stls "USER/PASS, STLS required" "proto POP3 auth password" \
    "sslproto 'auto' sslcertck sslcertfile @CERT@ sslcommonname localhost" "STLS" "USER u" "PASS"
# With proto APOP, fetchmail 6.4.37 sends neither CAPA nor STLS, even when sslproto 'auto' asks
# for STLS: it logs in with APOP in plaintext. Checked so that a change shows.
fetchmail_run apop "APOP (sslproto 'auto' set)" "proto APOP" \
    "sslproto 'auto' sslcertck sslcertfile @CERT@ sslcommonname localhost" "APOP u" "!STLS"
fetchmail_run cram "AUTH CRAM-MD5, implicit TLS" "proto POP3 auth cram-md5" \
    "ssl sslcertck sslcertfile @CERT@ sslcommonname localhost" "AUTH CRAM-MD5"
fi

# =============================================================================================
if want mpop; then
section "d4. mpop $(mpop --version | sed -n 's/^mpop version //p') against pop3-mockserver"
mpop_run() { # ID NAME AUTH TLS(plain|stls|tls) DELIVERY(maildir|mbox|mda) RECORDED-COMMAND...
    local id=$1 name=$2 auth=$3 tls=$4 delivery=$5
    shift 5
    if ! start_mock "mpop-$id"; then fail "mpop [$name]: pop3-mockserver did not start"; return; fi
    local d=$TMP/mpop-$id port=$MOCK_PORT tlsline kind path
    mkdir -p "$d"
    case $tls in
        plain) tlsline="tls off" ;;
        stls) tlsline="tls on
tls_starttls on" ;;
        tls) tlsline="tls on
tls_starttls off"; port=$MOCK_TLS_PORT ;;
    esac
    case $delivery in
        maildir) mkdir -p "$d/Maildir/"{cur,new,tmp}; kind=maildir; path=$d/Maildir
            delivery="maildir $d/Maildir" ;;
        mbox) kind=mbox; path=$d/mbox; delivery="mbox $d/mbox" ;;
        mda) mkdir -p "$d/out"; kind=files; path=$d/out; delivery="mda \"$HERE/mda.sh $d/out\"" ;;
    esac
    cat > "$d/rc" <<EOF
account interop
host 127.0.0.1
port $port
user u
password p
auth $auth
$tlsline
tls_trust_file $MOCK_PEM
uidls_file $d/uidls
delivery $delivery
EOF
    chmod 600 "$d/rc"
    if timeout 120 mpop -C "$d/rc" -q interop >"$d/log" 2>&1; then
        ok "mpop [$name]: fetched"
    else
        fail "mpop [$name]: exit $?: $(tail -3 "$d/log" | tr '\n' ' ')"
    fi
    "$PYTHON" "$HERE/compare_delivered.py" "mpop [$name]" "$EXPECTED" "$kind" "$path" > "$d/compare" 2>&1
    tally "mpop [$name]" $? "$d/compare"
    local c
    for c in "$@"; do
        if recorded "$c"; then ok "mpop [$name]: sent $c"; else fail "mpop [$name]: never sent $c"; fi
    done
    if [ "$(mock_stat)" = "0 0" ]; then ok "mpop [$name]: DELE + QUIT emptied the maildrop"
    else fail "mpop [$name]: maildrop after the run: $(mock_stat)"; fi
}
mpop_run user "USER/PASS, plaintext, maildir" user plain maildir "USER u" "PASS"
mpop_run apop "APOP, plaintext, mbox" apop plain mbox "APOP u"
mpop_run plain "AUTH PLAIN, STLS, mbox" plain stls mbox "STLS" "AUTH PLAIN"
mpop_run login "AUTH LOGIN, STLS, maildir" login stls maildir "STLS" "AUTH LOGIN"
mpop_run cram "AUTH CRAM-MD5, implicit TLS, MDA" cram-md5 tls mda "AUTH CRAM-MD5"
mpop_run scram "AUTH SCRAM-SHA-256, STLS, MDA" scram-sha-256 stls mda "STLS" "AUTH SCRAM-SHA-256"
fi

# =============================================================================================
# f. The other servers: each interop/servers/NAME/start.sh DIR MAILDROP starts one on 127.0.0.1
# with everything under DIR and writes DIR/server.env (SERVER_NAME PORT TLS_PORT STLS RUNS USER
# PASS CA PROVISION FIXTURE_FORMAT); stop.sh DIR stops it (interop/servers/NAME/README.md).
# The servers are independent of each other and of part e, and spend most of their time
# waiting (login-failure delays, timeouts), so they run side by side with part e; each one's
# output is printed after part e.
server_part() { # NAME: prints the part's lines; its ok/FAIL lines are counted by tally
    local name=$1
    local SV=$TMP/server-$name
    mkdir -p "$SV"
    chmod 755 "$SV"
    if ! bash "$HERE/servers/$name/start.sh" "$SV" "$TMP/maildrop" >"$SV.start.log" 2>&1; then
        echo "f. pop3-conformance server against $name"
        fail "$name: did not start:"
        tail -12 "$SV.start.log" | sed 's/^/  /'
        bash "$HERE/servers/$name/stop.sh" "$SV" >/dev/null 2>&1
        return
    fi
    (
        # shellcheck disable=SC1091
        . "$SV/server.env"
        echo "f. pop3-conformance server against $SERVER_NAME on 127.0.0.1"
        cred="$(urlenc "$USER"):$(urlenc "$PASS")"
        tls_url=
        [ -n "${TLS_PORT:-}" ] && tls_url="pop3s://$cred@127.0.0.1:$TLS_PORT"
        server_conformance "$SERVER_NAME" "$HERE/servers/$name/expected.txt" \
            "pop3://$cred@127.0.0.1:$PORT" "${STLS:-1}" "$tls_url" "${CA:-}" "${PROVISION:-}" \
            "${FIXTURE_FORMAT:-maildir}" "$TMP/conformance-$name" "${RUNS:-}"
    )
    bash "$HERE/servers/$name/stop.sh" "$SV" >"$SV.stop.log" 2>&1 ||
        fail "$name: stop.sh failed: $(tail -3 "$SV.stop.log")"
}
f_names=()
f_start=$(date +%s)
for name in "${servers[@]}"; do
    want "$name" && [ -f "$HERE/servers/$name/start.sh" ] || continue
    server_dirs+=("$name:$TMP/server-$name")
    server_part "$name" >"$TMP/part-f-$name.out" 2>&1 &
    f_jobs+=($!)
    f_names+=("$name")
done

# =============================================================================================
if want conformance-clients; then
section "e. pop3-conformance client against poplib, curl, fetchmail, mpop"
# For each client case (conformance/client-cases/, docs/client-conformance.md) the runner starts
# pop3kit's mock server with the case's one deviation on 127.0.0.1 and runs the client through
# its adapter (interop/adapters/PROGRAM.py, docs/client-adapters.md). pop3-client and the
# client library are checked by ctest (conformance_client_program, conformance_client_library).
# Each program's verdicts are compared with its [PROGRAM] section of
# interop/clients-expected.txt by pop3-conformance itself (--expect, --expect-section), as in
# part c; --update-expected writes the sections instead (--update-expect). The programs run
# side by side: each spends most of its time waiting on its own client. --hold 100: a client
# that loses step reacts to a reply's first octets within milliseconds, but on a busy machine
# not always within the default 50 ms.
CC=$TMP/clients
mkdir -p "$CC/tmp"
: > "$CC/verdicts.txt"
verdicts=0
incomplete=0
differing=()
programs=(poplib curl fetchmail mpop)
E_BUDGET=${E_BUDGET:-900}
t0=$(date +%s)
for program in "${programs[@]}"; do
    if [ $update_expected -eq 1 ]; then
        expect=(--update-expect "$CC/clients-$program.txt" --expect-section "$program")
    else
        expect=(--expect "$HERE/clients-expected.txt" --expect-section "$program")
    fi
    # TMPDIR: the runner's work folders and the adapters' files stay inside the stage's folder.
    mkdir -p "$CC/tmp/$program"
    # A run has E_BUDGET seconds (a stalled run must not hold CI until its own time limit);
    # --progress names the cases it started and ended, so a stall names its case.
    (TMPDIR=$CC/tmp/$program POP3KIT_KEEP_WORK=$([ $keep -eq 1 ] && echo 1) \
        timeout -k 10 "$E_BUDGET" \
        "$CONFORMANCE" client --jobs 3 --hold 100 --command "exec '$PYTHON' '$HERE/adapters/$program.py'" \
        --no-color --progress --json "$CC/clients-$program.json" \
        --html "$REPORTS/clients-$program.html" "${expect[@]}" \
        >"$CC/$program.log" 2>"$CC/$program.progress"
     echo $? >"$CC/$program.code") &
    e_jobs+=($!)
done
# Only these: a bare `wait` would also wait for part d's mock servers, which run until exit.
wait "${e_jobs[@]}"
cp "$CC"/clients-*.json "$REPORTS/" 2>/dev/null
e_jobs=() # ended: cleanup must not signal their (reusable) pids
for program in "${programs[@]}"; do
    code=$(cat "$CC/$program.code")
    if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
        fail "conformance-clients [$program]: not finished within $E_BUDGET s; cases started and not ended:"
        awk '$1 == "start" { open[$2] = 1 } $1 == "done" { delete open[$3] }
             END { for (id in open) print "  " id }' "$CC/$program.progress"
        tail -3 "$CC/$program.progress" | sed 's/^/  last: /'
        incomplete=1
        continue
    fi
    # 0 or 1 are verdicts (with --expect: matches or not); 2 is a bad command line, a
    # malformed case file or a malformed expected file.
    if [ "$code" -ge 2 ] || { [ $update_expected -eq 1 ] && [ ! -s "$CC/clients-$program.txt" ]; }; then
        fail "conformance-clients [$program]: pop3-conformance exited $code:"
        tail -5 "$CC/$program.log" | sed 's/^/  /'
        grep -v '^start \|^done ' "$CC/$program.progress" | tail -5 | sed 's/^/  /'
        incomplete=1
        continue
    fi
    echo "  [$program] $(grep -a 'passed, .* failed' "$CC/$program.log" | tail -1)"
    if [ $update_expected -eq 1 ]; then
        grep -v '^#' "$CC/clients-$program.txt" >> "$CC/verdicts.txt"
    elif [ "$code" -eq 0 ]; then
        n=$(sed -n 's/^baseline: matches .* (\([0-9]*\) verdicts\{0,1\})$/\1/p' "$CC/$program.log")
        verdicts=$((verdicts + ${n:-0}))
    else
        differing+=("$program")
    fi
done
echo "  (the four programs side by side: $(($(date +%s) - t0)) s)"
if [ $update_expected -eq 1 ]; then
    if [ $incomplete -eq 0 ]; then
        if n=$(write_expected "$HERE/clients-expected.txt" "$CC/verdicts.txt" \
            "pop3-conformance client against real clients, as interop/run.sh runs them through" \
            "interop/adapters/PROGRAM.py: a [PROGRAM] section per program, one line per case," \
            "ID VERDICT; each program is checked with --expect FILE --expect-section PROGRAM." \
            "Every failure is explained in docs/interop.md (the rule, the evidence)." \
            "$(curl --version | head -1 | cut -d' ' -f1-2), $(fetchmail --version 2>/dev/null | sed -n 's/^This is fetchmail release \([^+]*\).*/fetchmail \1/p'), mpop $(mpop --version | sed -n 's/^mpop version //p'), Python $("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') poplib." \
            "Regenerate after changing client cases or adapters: interop/run.sh --update-expected"); then
            ok "conformance-clients: wrote interop/clients-expected.txt ($n verdicts); review and commit it"
        else
            fail "conformance-clients: could not write interop/clients-expected.txt"
        fi
    else
        fail "conformance-clients: interop/clients-expected.txt not rewritten: a program's run did not complete"
    fi
elif [ ${#differing[@]} -eq 0 ]; then
    [ $incomplete -eq 0 ] && ok "conformance-clients: $verdicts verdicts as in interop/clients-expected.txt"
else
    fail "conformance-clients: verdicts differ from interop/clients-expected.txt for ${differing[*]}:"
    for program in "${differing[@]}"; do
        sed -n '/^baseline /,/^baseline: /p' "$CC/$program.log" | sed 's/^/  /'
    done
    echo "  Rerun one: $CONFORMANCE client --command \"exec python3 interop/adapters/PROGRAM.py\" --only ID"
    echo "  (interop/run.sh --only conformance-clients --keep keeps the logs and the wrappers' folders.)"
    echo "  If the change is intended (transcripts or wrappers changed), regenerate the file,"
    echo "  review its diff and commit it: interop/run.sh --update-expected"
fi
fi

if [ ${#f_jobs[@]} -gt 0 ]; then
    section "f. pop3-conformance server against ${f_names[*]} (side by side with part e)"
    for i in "${!f_jobs[@]}"; do
        wait "${f_jobs[$i]}"
        tally "server ${f_names[$i]}" $? "$TMP/part-f-${f_names[$i]}.out"
    done
    f_jobs=()
    echo "  (part f: $(($(date +%s) - f_start)) s)"
fi

# =============================================================================================
if [ $dovecot_up -eq 1 ]; then
    section "b'. pop3-client against Dovecot: deletions (last: they change the maildrop)"
    "$PYTHON" "$HERE/client_check.py" --client "$CLIENT" --port "$DV_PORT" --tls-port "$DV_TLS_PORT" \
        --ca "$DV/cert.pem" --user "$DV_USER" --password "$DV_PASS" --maildrop "$EXPECTED" \
        --destructive >"$TMP/client-destructive.out" 2>&1
    tally "pop3-client deletions against Dovecot" $? "$TMP/client-destructive.out"
fi

# =============================================================================================
# g. The ecosystem matrix: the JSON of every conformance run above, side by side (Dovecot's runs
# first, then the other servers', then the clients'), each column named after its server and
# run or its client.
matrix_inputs=()
for stem in $(for s in dovecot "${servers[@]}"; do for r in plain starttls tls; do
                  echo "conformance-$s-$r"; done; done) \
            $(for p in poplib curl fetchmail mpop; do echo "clients-$p"; done); do
    [ -f "$REPORTS/$stem.json" ] || continue
    case $stem in
        conformance-*-tls) label="$(echo "$stem" | sed 's/^conformance-//; s/-tls$//') pop3s" ;;
        conformance-*) label=$(echo "$stem" | sed 's/^conformance-//; s/-\([a-z]*\)$/ \1/') ;;
        clients-*) label=${stem#clients-} ;;
    esac
    matrix_inputs+=("$label=$REPORTS/$stem.json")
done
if [ ${#matrix_inputs[@]} -gt 0 ]; then
    section "g. the ecosystem matrix (${#matrix_inputs[@]} runs)"
    if "$CONFORMANCE" matrix "${matrix_inputs[@]}" --title "pop3kit interop: the ecosystem matrix" \
        --html "$REPORTS/matrix.html" --markdown "$REPORTS/matrix.md" >"$TMP/matrix.out" 2>&1; then
        ok "matrix: $REPORTS/matrix.html and matrix.md (${#matrix_inputs[@]} runs)"
        if [ $update_docs -eq 1 ]; then
            if "$PYTHON" "$HERE/matrix_docs.py" --note "From \`interop/run.sh\` on $(date -u +%Y-%m-%d) (${#matrix_inputs[@]} runs)." \
                "$REPORTS/matrix.md" "$ROOT/docs/interop.md" >"$TMP/matrix-docs.out" 2>&1; then
                ok "matrix: docs/interop.md's tables rewritten; review and commit them"
            else
                fail "matrix: docs/interop.md not rewritten:"
                sed 's/^/  /' "$TMP/matrix-docs.out"
            fi
        fi
    else
        fail "matrix: pop3-conformance matrix failed:"
        sed 's/^/  /' "$TMP/matrix.out"
    fi
fi

section "done"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
