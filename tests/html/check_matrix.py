#!/usr/bin/env python3
"""Opens pop3-conformance matrix's HTML page in headless Chromium and checks that it works.

Three real runs write their JSON and HTML reports: some server cases against the embedded mock
server (they pass), the same against pop3-mockserver misbehaving as the bare-lf scenario
(failures and errors), and the client cases of RFC 2595 against pop3kit's client library.
`pop3-conformance matrix` sets them side by side (--html, --markdown). The Markdown's cells must
hold the counts the JSON files give (computed here on their own); the page, loaded in Chromium
over the DevTools protocol (check_report.py's driver), must show no console error, no uncaught
exception and no request other than the file itself; a row per family with its cases hidden
until a click on the family shows them (and only them); each case's cell must link to a case
anchor that exists in its run's report; a copy without its script must show every case row.
Screenshots go to the output folder.

Exit status: 0 passed, 1 failed, 77 skipped (Chromium is not installed: ctest's SKIP_RETURN_CODE).
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_report import SKIP, Chromium, Failure, Page, check, run  # noqa: E402

SERVER_ONLY = ["--only", "rfc2449/*", "--only", "rfc1939/4/*"]
CLIENT_ONLY = ["--only", "client/rfc2595/*"]


def family(case_id):
    """matrix.hpp's case_family(), written again."""
    prefix = ""
    if case_id.startswith("client/"):
        prefix, case_id = "client/", case_id[len("client/"):]
    parts = case_id.split("/")
    if len(parts) > 1:
        parts = parts[:-1]
    return prefix + "/".join(parts[:2])


def md_cell(cases):
    """The Markdown cell of these cases (JSON objects): passed / failed / n/a [+N skipped]
    [+N error]."""
    if not cases:
        return ""
    p = sum(c["result"] == "passed" for c in cases)
    f = sum(c["result"] == "failed" for c in cases)
    na = sum(c["result"] == "skipped" and c["outcome"] == "n/a" for c in cases)
    sk = sum(c["result"] == "skipped" for c in cases) - na
    e = sum(c["result"] == "error" for c in cases)
    s = "%d / %s / %d" % (p, "**%d**" % f if f else "0", na)
    if sk:
        s += " +%d skipped" % sk
    if e:
        s += " +%d error" % e
    return s


def write_runs(conformance, mockserver, scenarios, out):
    """The three runs' JSON and HTML reports: [(name, json path)]."""
    runs = []
    embedded = os.path.join(out, "embedded")
    status, _, err = run([conformance, "server", "--no-color", "--json", embedded + ".json",
                          "--html", embedded + ".html"] + SERVER_ONLY, 120)
    check(status == 0, "the embedded run wrote its reports (exit %d) %s" % (status, err))
    runs.append(("embedded", embedded + ".json"))

    bare = os.path.join(out, "bare-lf")
    server = subprocess.Popen([mockserver, "--scenario", os.path.join(scenarios, "bare-lf.toml"),
                               "--quiet", "--threads", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 30)
        port = None
        while ready and port is None:
            line = server.stdout.readline()
            if not line:
                break
            m = re.match(r"listening pop3 127\.0\.0\.1:(\d+)", line)
            if m:
                port = m.group(1)
        check(port is not None, "pop3-mockserver --scenario bare-lf.toml is listening")
        status, _, err = run([conformance, "server", "--no-color", "--timeout", "1", "--target",
                              "pop3://user:pass@127.0.0.1:" + port, "--json", bare + ".json",
                              "--html", bare + ".html"] + SERVER_ONLY, 120)
        check(status in (0, 1), "the bare-lf run wrote its reports (exit %d) %s" % (status, err))
    finally:
        server.stdout.close()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    runs.append(("bare-lf server", bare + ".json"))

    client = os.path.join(out, "client-library")
    status, _, err = run([conformance, "client", "--no-color", "--json", client + ".json",
                          "--html", client + ".html"] + CLIENT_ONLY, 120)
    check(status == 0, "the client run wrote its reports (exit %d) %s" % (status, err))
    runs.append(("pop3kit library", client + ".json"))
    return runs


def expected_groups(runs):
    """{"servers"|"clients": (run names, {family: [case ids]}, {name: {id: case}})}."""
    groups = {}
    for name, path in runs:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            data = json.load(f)
        client = data["title"].startswith("pop3-conformance client")
        names, families, cases = groups.setdefault("clients" if client else "servers",
                                                   ([], {}, {}))
        names.append(name)
        cases[name] = {}
        for i, c in enumerate(data["cases"], 1):
            c["index"] = i
            cases[name][c["id"]] = c
            ids = families.setdefault(family(c["id"]), [])
            if c["id"] not in ids:
                ids.append(c["id"])
    return groups


def check_markdown(path, groups):
    with open(path, encoding="utf-8") as f:
        md = f.read()
    rows = 0
    for names, families, cases in groups.values():
        check("| case family | cases | %s |\n" % " | ".join(names) in md,
              "the Markdown has a table with a column per run: %s" % ", ".join(names))
        for fam, ids in families.items():
            cells = [md_cell([cases[n][i] for i in ids if i in cases[n]]) for n in names]
            row = "| `%s` | %d | %s |\n" % (fam, len(ids), " | ".join(cells))
            if row not in md:
                raise Failure("the Markdown lacks the row %r" % row)
            rows += 1
    check(rows > 5, "each of the %d family rows of the Markdown has the JSON's counts" % rows)


def check_page(page, path, groups, out):
    url = page.load(path)
    problems = page.problems(url)
    check(not problems, "matrix.html: no console error, exception or outside request %s"
          % problems)
    families = sum(len(g[1]) for g in groups.values())
    cases = sum(len(ids) for g in groups.values() for ids in g[1].values())
    check(page.evaluate("document.querySelectorAll('tr.fam').length") == families,
          "a row for each of the %d families" % families)
    check(page.evaluate("document.querySelectorAll('tr.cs').length") == cases,
          "a case row for each of the %d cases" % cases)
    visible = ("Array.from(document.querySelectorAll('tr.cs'))"
               ".filter(e => e.getClientRects().length > 0)")
    check(page.evaluate(visible + ".length") == 0, "the case rows are hidden before a click")
    # The bare-lf run's failures are in a family: open the first family with a failed cell.
    key = page.evaluate("(() => { const c = document.querySelector('tr.fam td.o-failed'); "
                        "return c && c.parentElement.dataset.fam; })()")
    check(key is not None, "a family row has a cell coloured as failed")
    wanted = page.evaluate("document.querySelectorAll('tr.cs[data-of=\"%s\"]').length" % key)
    page.click("tr.fam[data-fam='%s'] th" % key)
    shown = page.evaluate(visible + ".map(e => e.dataset.of)")
    check(len(shown) == wanted and set(shown) == {key},
          "a click on the family shows its %d cases and only them (%d)" % (wanted, len(shown)))
    check(page.evaluate("document.querySelector('tr.fam[data-fam=\"%s\"]')"
                        ".getAttribute('aria-expanded')" % key) == "true",
          "the family row says it is open")
    # Each shown case cell links to its case in the run's report: the anchor exists there.
    links = page.evaluate(visible + ".flatMap(r => Array.from(r.querySelectorAll('a')))"
                          ".map(a => [a.href, a.parentElement.title])")
    check(len(links) > 0, "the cases' cells link to the runs' reports (%d links)" % len(links))
    for href, title in links:
        parsed = urllib.parse.urlparse(href)
        target = urllib.parse.unquote(parsed.path)
        check_anchor(target, parsed.fragment, title)
    check(any(": failed: " in t for _, t in links),
          "a failed case's cell has its reason as tooltip")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(os.path.join(out, "matrix.png"))
    page.click("tr.fam[data-fam='%s'] th" % key)
    check(page.evaluate(visible + ".length") == 0, "a second click hides them again")
    page.click("#mx-open")
    check(page.evaluate(visible + ".length") == cases, "'open all families' shows every case")
    page.screenshot(os.path.join(out, "matrix-open.png"))
    problems = page.problems(url)
    check(not problems, "no console error while clicking %s" % problems)


anchors_seen = {}


def check_anchor(report, anchor, title):
    if report not in anchors_seen:
        with open(report, encoding="utf-8", errors="replace") as f:
            anchors_seen[report] = set(re.findall(r'<details class="case" id="(c\d+)"', f.read()))
    if anchor not in anchors_seen[report]:
        raise Failure("%s: no case #%s (the link of %r)" % (report, anchor, title))


def check_without_script(page, path, groups, out):
    with open(path, encoding="utf-8") as f:
        html = f.read()
    stripped = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    check(stripped != html, "the matrix's script removed for the no-JS copy")
    nojs = os.path.join(out, "matrix-nojs.html")
    with open(nojs, "w", encoding="utf-8") as f:
        f.write(stripped)
    url = page.load(nojs)
    check(not page.problems(url), "the no-JS copy loads without error")
    cases = sum(len(ids) for g in groups.values() for ids in g[1].values())
    check(page.evaluate("Array.from(document.querySelectorAll('tr.cs'))"
                        ".filter(e => e.getClientRects().length > 0).length") == cases,
          "without JS every case row is shown")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conformance", required=True, help="pop3-conformance")
    parser.add_argument("--mockserver", required=True, help="pop3-mockserver")
    parser.add_argument("--scenarios", required=True, help="mockserver/scenarios")
    parser.add_argument("--out", required=True, help="output folder (reports, screenshots)")
    parser.add_argument("--chromium", default=os.environ.get("POP3KIT_CHROMIUM", "chromium"))
    parser.add_argument("--timeout", type=float, default=30, help="per DevTools call, seconds")
    args = parser.parse_args()

    binary = shutil.which(args.chromium)
    if not binary:
        print("SKIP: %s is not installed (Debian: apt-get install chromium; scripts/setup.sh "
              "installs it)" % args.chromium)
        return SKIP
    os.makedirs(args.out, exist_ok=True)

    def overtime(signum, frame):
        raise Failure("the check ran over its time bound")
    signal.signal(signal.SIGALRM, overtime)
    signal.alarm(150)

    browser = None
    try:
        runs = write_runs(args.conformance, args.mockserver, args.scenarios, args.out)
        page_path = os.path.join(args.out, "matrix.html")
        md_path = os.path.join(args.out, "matrix.md")
        status, _, err = run([args.conformance, "matrix"] + ["%s=%s" % r for r in runs]
                             + ["--html", page_path, "--markdown", md_path], 60)
        check(status == 0 and os.path.exists(page_path) and os.path.exists(md_path),
              "pop3-conformance matrix wrote %s and %s (exit %d) %s"
              % (page_path, md_path, status, err))
        groups = expected_groups(runs)
        check(set(groups) == {"servers", "clients"}, "server runs and a client run")
        check_markdown(md_path, groups)
        browser = Chromium(binary, args.timeout)
        print("browser:", browser.call("Browser.getVersion").get("product"))
        page = Page(browser)
        check_page(page, page_path, groups, args.out)
        check_without_script(page, page_path, groups, args.out)
    except (Failure, subprocess.TimeoutExpired) as e:
        print("FAILED:", e)
        return 1
    finally:
        signal.alarm(0)
        if browser:
            browser.close()
    print("passed; the matrix, reports and screenshots in", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
