#!/usr/bin/env python3
"""Turns bench/run.sh's rows into its table (stdout) and bench/results.json.

Usage: bench/report.py ROWS.tsv OUT.json QUICK
       bench/report.py --markdown RESULTS.json   (the table of docs/performance.md)

Exits 1 when a row has no figure (0: the measurement failed); a missed goal is reported, not an
error.

Each row of ROWS.tsv: id, better (higher|lower), unit, peer, peer value ("-" when there is no
peer or it was left out, "" when its measurement failed), our value ("" when it failed), goal ("ratio>=X", "ours>=X", "ours<X" or "-"), what. The ratio says how many times
better ours is: ours/peer when higher is better, peer/ours when lower is better. The format of
results.json is documented in docs/performance.md.
"""
import datetime
import json
import os
import platform
import subprocess
import sys


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    distro = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kb / 2**20, 1),
        "os": distro,
        "kernel": platform.release(),
    }


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def number(text):
    """None for "-" (no figure wanted); raises ValueError for "" or junk (a failed measurement)."""
    return None if text == "-" else float(text)


def evaluate(goal, ours, ratio):
    if goal == "-":
        return None
    kind, _, bound = goal.partition(">=") if ">=" in goal else goal.partition("<")
    bound = float(bound)
    if kind == "ratio":
        return None if ratio is None else ratio >= bound
    return ours >= bound if ">=" in goal else ours < bound


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def markdown(path):
    with open(path) as f:
        result = json.load(f)
    print("| row | what | peer | peer's figure | ours | ratio | goal | |")
    print("|---|---|---|---:|---:|---:|---|---|")
    for r in result["rows"]:
        met = {None: "", True: "met", False: "**missed**"}[r["goal_met"]]
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        peer_value = f"{fmt(r['peer_value'])} {r['unit']}" if r["peer_value"] is not None else "—"
        print(f"| `{r['id']}` | {r['what']} | {r['peer'] or '—'} | {peer_value} | "
              f"{fmt(r['ours'])} {r['unit']} | {ratio} | {r['goal'] or '—'} | {met} |")


def main():
    if sys.argv[1] == "--markdown":
        markdown(sys.argv[2])
        return
    rows_path, out_path, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    rows, failed = [], []
    with open(rows_path) as f:
        for line in f:
            ident, better, unit, peer, peer_value, ours, goal, what = line.rstrip("\n").split("\t")
            try:
                peer_value, ours = number(peer_value), float(ours)
            except ValueError:
                failed.append(ident)
                continue
            ratio = None
            if peer_value:
                ratio = ours / peer_value if better == "higher" else (peer_value / ours if ours else None)
            rows.append({
                "id": ident, "what": what, "unit": unit, "better": better,
                "peer": peer if peer != "-" else None, "peer_value": peer_value, "ours": ours,
                "ratio": round(ratio, 3) if ratio is not None else None,
                "goal": goal if goal != "-" else None, "goal_met": evaluate(goal, ours, ratio),
            })
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "quick": quick,
        "machine": machine(),
        "rows": rows,
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    m = result["machine"]
    print(f"pop3kit bench, {result['date']}, commit {result['commit']}, {m['cores']} cores "
          f"({m['cpu']}), {m['memory_gib']} GiB, {m['os']}" + (" [--quick: not a measurement]" if quick else ""))
    header = ("id", "unit", "peer", "peer value", "ours", "ratio", "goal", "")
    table = [header]
    for r in rows:
        met = {None: "", True: "met", False: "MISSED"}[r["goal_met"]]
        table.append((r["id"], r["unit"], r["peer"] or "—", fmt(r["peer_value"]), fmt(r["ours"]),
                      f"{r['ratio']:.2f}x" if r["ratio"] is not None else "—", r["goal"] or "—", met))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"written: {out_path}")
    missed = [r["id"] for r in rows if r["goal_met"] is False]
    if missed:
        print("goals missed" + (" (a --quick run is not a measurement)" if quick else "") + ": " +
              ", ".join(missed))
    # No figure, or a zero, is a measurement that failed (no connection held), not a slow result.
    broken = failed + [r["id"] for r in rows if r["ours"] <= 0 or r["peer_value"] == 0]
    if broken:
        print("bench: no figure for " + ", ".join(broken), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
